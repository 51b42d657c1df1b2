"""A task defined in the tests alone (tests/plugins/probe.py and one YAML in a temporary
config folder) trains, is reported and has its figure on its run's page, without any file
under deepimg/ naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import QUICK, run_cli

pytestmark = pytest.mark.slow  # new processes, real training

REPO = Path(__file__).resolve().parents[1]


def test_a_task_from_outside_trains_reports_and_draws(tmp_path: Path, monkeypatch) -> None:
    assert not list((REPO / "deepimg").rglob("*probe*"))  # nothing of it inside deepimg/
    extra = tmp_path / "my_conf"
    (extra / "task").mkdir(parents=True)
    (extra / "task" / "probe.yaml").write_text("_target_: tests.plugins.probe.Probe\n")
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # so the subprocess imports tests.plugins
    sweep = tmp_path / "sweep"
    trained = run_cli(
        "train", "task=probe", f"hydra.searchpath=[file://{extra}]", "dataset=digits",
        "physical_layer=quantize", "bits=2,8", *QUICK, f"hydra.sweep.dir={sweep}", "-m",
        cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    for run in ("0", "1"):
        metrics = json.loads((sweep / run / "metrics.json").read_text())
        assert metrics["status"] == "completed" and metrics["task"] == "probe"
        assert metrics["objective"] == "val/mae_best" and 0 <= metrics["test/mae"] < 1
        page = (sweep / run / "index.html").read_text()
        assert "analysis/brightness.png" in page
        assert "Predicted against true mean brightness." in page
        assert (sweep / run / "analysis" / "learning_curves.png").is_file()
    reported = run_cli("report", str(sweep), cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr[-3000:]
    summary = (sweep / "report" / "summary.csv").read_text().splitlines()
    assert summary[0] == "bits,test/mae" and len(summary) == 3
