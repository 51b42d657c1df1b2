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
