"""Faults in real subprocesses: a failing job in a sweep leaves its reason and the others go on."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.conftest import QUICK, run_cli

REPO = Path(__file__).resolve().parents[1]


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # so the subprocess imports tests.faults
    result = run_cli(
        "train", "dataset=digits", "analysis=none", "physical_layer=none",
        "physical_layer._target_=tests.faults.Exploding", "+physical_layer.explode=false,true,false",
        "-m", *QUICK, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("deepimg")]
    assert lines[-1] == (
        f"deepimg train: 2 of 3 runs completed; failed: 1 ({sweep / '1' / 'error.log'})"
    )
    assert "Traceback" not in result.stderr
    failed = json.loads((sweep / "1" / "metrics.json").read_text())
    assert failed == {
        "status": "failed",
        "error": "RuntimeError: the exploding layer exploded, as asked",
    }
    assert "Traceback" in (sweep / "1" / "error.log").read_text()
    for run in ("0", "2"):  # the jobs around it completed
        assert json.loads((sweep / run / "metrics.json").read_text())["status"] == "completed"
    mode = stat.S_IMODE(os.stat(sweep / "0" / "metrics.json").st_mode)
    assert mode == stat.S_IMODE(os.stat(sweep / "0" / ".hydra" / "config.yaml").st_mode)

    report = run_cli("report", str(sweep), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "the exploding layer exploded" in (sweep / "report" / "summary.md").read_text()
    assert "the exploding layer exploded" in (sweep / "report" / "index.html").read_text()
