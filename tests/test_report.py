"""The sweep report on fabricated run folders: rows, mean ± std over seeds, failures, plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from deepimg.errors import UserError
from deepimg.report import report
from deepimg.runs import write_metrics


def make_run(folder: Path, overrides: list[str], config: dict, metrics: dict | None) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    if metrics is not None:
        write_metrics(folder, {**metrics, "status": "completed"})


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """bits in {1, 4} x seed in {0, 1, 2}, with one run that never finished."""
    n = 0
    for bits in (1, 4):
        for seed in (0, 1, 2):
            failed = bits == 4 and seed == 2
            acc = 0.5 + 0.1 * bits + 0.01 * seed
            make_run(
                tmp_path / str(n),
                ["physical_layer=quantize", f"physical_layer.bits={bits}", f"seed={seed}"],
                {"physical_layer": {"bits": bits}, "seed": seed},
                None if failed else {"test/acc": acc, "test/f1": acc - 0.05},
            )
            n += 1
    return tmp_path


def test_one_row_per_setting_with_mean_std_and_count(sweep: Path) -> None:
    summary = report([sweep], metrics=["test/acc", "test/f1"])
    assert summary["bits"].tolist() == [1, 4]
    assert summary["n"].tolist() == [3, 2]
    assert summary["test/acc"].tolist() == pytest.approx([0.61, 0.905])
    assert summary["test/acc_std"].iloc[0] == pytest.approx(pd.Series([0.6, 0.61, 0.62]).std())
    written = pd.read_csv(sweep / "report" / "summary.csv")
    assert list(written.columns) == [
        "bits",
        "test/acc",
        "test/acc_std",
        "test/f1",
        "test/f1_std",
        "n",
    ]


def test_failed_runs_are_listed_and_plots_made(sweep: Path) -> None:
    report([sweep], metrics=["test/acc"])
    md = (sweep / "report" / "summary.md").read_text()
    assert "Failed runs (1)" in md and str(sweep / "5") in md
    assert "| 1 | 0.6100 ± 0.0100 | 3 |" in md
    plot = sweep / "report" / "test_acc_vs_bits.png"
    assert plot.is_file() and plot.stat().st_size > 1000


def test_eight_runs_make_eight_rows(tmp_path: Path) -> None:
    for bits in range(1, 9):
        make_run(
            tmp_path / str(bits - 1),
            [f"physical_layer.bits={bits}"],
            {"physical_layer": {"bits": bits}},
            {"test/acc": bits / 10},
        )
    summary = report([tmp_path], metrics=["test/acc"])
    assert len(summary) == 8 and summary["bits"].tolist() == list(range(1, 9))
    assert "n" not in summary  # one run per setting: no count or spread to show


def test_colliding_short_names_keep_full_keys(tmp_path: Path) -> None:
    for i, (a, b) in enumerate([(1, 1), (2, 1), (1, 2)]):
        make_run(
            tmp_path / str(i),
            [f"x.size={a}", f"y.size={b}"],
            {"x": {"size": a}, "y": {"size": b}},
            {"test/acc": 0.5},
        )
    summary = report([tmp_path], metrics=["test/acc"])
    assert {"x.size", "y.size"} <= set(summary.columns)


def test_missing_and_empty_folders_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        report([tmp_path / "nope"], metrics=["test/acc"])
    with pytest.raises(UserError, match="no runs under"):
        report([tmp_path], metrics=["test/acc"])
