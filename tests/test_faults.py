"""Faults in real subprocesses: a failing job in a sweep leaves its reason and the others go on."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.conftest import QUICK, run_cli
from tests.test_cli_errors import assert_one_line_error

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


def test_an_existing_run_folder_is_never_written_over(tmp_path: Path) -> None:
    run = tmp_path / "earlier"
    (run / ".hydra").mkdir(parents=True)
    (run / "metrics.json").write_text('{"status": "completed", "test/acc": 0.9}')
    result = run_cli("train", "dataset=digits", f"hydra.run.dir={run}", cwd=tmp_path)
    assert_one_line_error(result, str(run), "already holds a run")
    assert (run / "metrics.json").read_text() == '{"status": "completed", "test/acc": 0.9}'
    assert sorted(p.name for p in run.iterdir()) == [".hydra", "metrics.json"]


def test_corrupt_and_unexpected_inputs_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.ckpt").write_bytes(b"")
    assert_one_line_error(
        run_cli("eval", "ckpt=empty.ckpt", cwd=tmp_path), "not a deepimg checkpoint"
    )
    (tmp_path / "text.ckpt").write_text("hello, I am not a checkpoint " * 20)
    result = run_cli("eval", "ckpt=text.ckpt", cwd=tmp_path)
    assert_one_line_error(result, "text.ckpt", "not a deepimg checkpoint")
    (tmp_path / "a_run").mkdir()
    assert_one_line_error(run_cli("eval", "ckpt=a_run", cwd=tmp_path), "is a folder", "best.ckpt")
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2 and "usage: deepimg" in result.stderr and not result.stdout


def test_report_lists_the_metrics_there_are_and_survives_odd_metrics_files(tmp_path: Path) -> None:
    from tests.commands.test_report import make_run

    make_run(
        tmp_path / "0",
        ["physical_layer.bits=1"],
        {"physical_layer": {"bits": 1}},
        {"test/acc": 0.5},
    )
    make_run(
        tmp_path / "1",
        ["physical_layer.bits=2"],
        {"physical_layer": {"bits": 2}},
        {"test/acc": 0.6},
    )
    make_run(
        tmp_path / "2",
        ["physical_layer.bits=3"],
        {"physical_layer": {"bits": 3}},
        {"test/acc": 0.7},
    )
    (tmp_path / "1" / "metrics.json").write_text("[1, 2, 3]")
    (tmp_path / "2" / "metrics.json").write_bytes(bytes(range(256)))
    result = run_cli("report", str(tmp_path), "--metrics", "nosuch", cwd=tmp_path)
    assert_one_line_error(result, "'nosuch'", "available: test/acc")
    result = run_cli("report", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Failed runs (2)" in (tmp_path / "report" / "summary.md").read_text()


def test_eval_refuses_another_network_and_takes_short_keys_after_a_group_swap(tmp_path) -> None:
    result = run_cli(
        "train", "dataset=digits", "analysis=none", *QUICK, "hydra.run.dir=run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ckpt = f"ckpt={tmp_path / 'run' / 'checkpoints' / 'best.ckpt'}"
    for change in ("model.depth=3", "model.channels=8"):  # other layers; other shapes
        result = run_cli("eval", ckpt, change, cwd=tmp_path)
        assert_one_line_error(result, "the network must match the checkpoint")
    result = run_cli("eval", ckpt, "physical_layer=blur", "sigma=1", "analysis=none",
                     "hydra.run.dir=blurred", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    config = (tmp_path / "blurred" / "config.yaml").read_text()
    assert "deepimg.physics.blur.Blur" in config and "sigma: 1" in config
