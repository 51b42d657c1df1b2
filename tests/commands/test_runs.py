"""The run-directory contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from deepimg.commands.runs import find_runs, new_run_dir, read_metrics, write_metrics


def test_metrics_are_written_flat_and_json_clean(tmp_path: Path) -> None:
    write_metrics(tmp_path, {"test/acc": torch.tensor(0.5), "bad": math.nan, "status": "completed"})
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data == {"test/acc": 0.5, "bad": None, "status": "completed"}
    assert read_metrics(tmp_path) == data
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left behind


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path) -> None:
    folders = {new_run_dir(multirun=True, base=tmp_path) for _ in range(5)}
    assert len(folders) == 5 and all(
        f.is_dir() and f.parent.parent.name == "multirun" for f in folders
    )


def test_find_runs_sorts_naturally_and_skips_reports(tmp_path: Path) -> None:
    for name in ["0", "2", "10", "report/x"]:
        (tmp_path / name / ".hydra").mkdir(parents=True)
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text("[]")
    assert [p.name for p in find_runs(tmp_path)] == ["0", "2", "10"]


def test_a_failed_figure_is_recorded_beside_the_results(tmp_path: Path) -> None:
    """Test results are final once written: a figure that fails leaves them, and says why."""
    import json

    from deepimg.commands.train import draw_figures

    metrics = {"status": "completed", "test/acc": 0.91}
    write_metrics(tmp_path, metrics)

    def roc_of_nan():
        raise ValueError("Input contains NaN")

    assert draw_figures(metrics, tmp_path, roc_of_nan) is None
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "completed" and saved["test/acc"] == 0.91
    assert saved["analysis_error"] == "ValueError: Input contains NaN"
    assert "Traceback" in (tmp_path / "analysis_error.log").read_text()


def test_a_run_at_the_level_of_a_guess_gets_a_warning() -> None:
    from deepimg.commands.train import learned_nothing
    from deepimg.tasks.classify import Classify
    from deepimg.tasks.restore import Restore

    task = Classify()
    task.num_classes = 10
    assert "at the level of a guess (0.1000)" in learned_nothing(task, {"test/acc": 0.1})
    assert learned_nothing(task, {"test/acc": 0.85}) is None
    restore = Restore()
    assert "no better than the classical estimate's 21.0000" in learned_nothing(
        restore, {"test/psnr": 20.0, "test/psnr_baseline": 21.0}
    )
    assert learned_nothing(restore, {"test/psnr": 25.0, "test/psnr_baseline": 21.0}) is None


def test_run_folders_of_numbers_and_names_sort_numbers_first(tmp_path: Path) -> None:
    """A sweep folder with runs 1, 2, 10 and one named baseline: sorted without comparing a
    number with a name (which crashed report, eval ckpt=DIR and sweeps into the folder)."""
    for name in ("10", "baseline", "2", "1"):
        (tmp_path / name / ".hydra").mkdir(parents=True)
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text("[]\n")
    assert [p.name for p in find_runs(tmp_path)] == ["1", "2", "10", "baseline"]
