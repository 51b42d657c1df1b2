"""DDP on one CPU: two processes (gloo) train and test one run, and only rank zero writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import QUICK, run_cli

pytestmark = pytest.mark.slow  # new processes, real training


def test_two_ddp_processes_write_one_run_from_rank_zero(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = run_cli(
        "train", "dataset=digits", *QUICK, "trainer.devices=2", "trainer.strategy=ddp",
        f"hydra.run.dir={run}", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run / "train_ddp_process_1.log").is_file()  # the second rank ran, in this folder
    assert json.loads((run / "metrics.json").read_text())["status"] == "completed"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert (run / "index.html").is_file() and (run / "analysis" / "learning_curves.png").is_file()
    # Both ranks print to the same terminal: each table appears once, from rank zero.
    assert result.stdout.count("│ total") == 1  # the class balance
    assert result.stdout.count("┃ metric") == 1  # the run's metrics
    assert result.stdout.count("the source images have only") == 1

    # A re-test runs in one process, whatever the run trained on.
    ckpt = run / "checkpoints" / "best.ckpt"
    again = run_cli("eval", f"ckpt={ckpt}", "analysis=none", "hydra.run.dir=again", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "test/acc" in json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again.stdout.count("┃ metric") == 1  # one process printed it


def test_a_learned_design_held_by_a_stage_is_refused_under_ddp_in_one_line(tmp_path: Path) -> None:
    """stages=warmed holds the design in its warm-up and decode epochs; DDP cannot follow a
    gradient that comes and goes, so the run is refused before any process starts."""
    from tests.conftest import run_main

    result = run_main(
        "train", "dataset=digits", *QUICK, "physical_layer=blur", "physical_layer.learnable=true",
        "stages=warmed", "trainer.max_epochs=3", "trainer.devices=2", "trainer.strategy=ddp",
        "hydra.run.dir=run", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "does not train under DDP yet" in result.stderr
    assert "Traceback" not in result.stderr
