"""Signals and resume, with real subprocesses and real signals: a run stopped by SIGTERM,
SIGINT or SIGKILL after an epoch says how to resume, and the resumed run ends exactly where
the uninterrupted one does; a stopped sweep starts no further job and resumes only what is
unfinished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.test_cli_errors import assert_one_line_error

pytestmark = pytest.mark.slow  # new processes, real training

# Long enough to be stopped part-way (about 0.2 s an epoch on digits), short enough to finish.
RUN = [
    "dataset=digits", "analysis=none", "trainer.max_epochs=12",
    "trainer.enable_progress_bar=false", "trainer.accelerator=cpu",
]  # fmt: skip


def start(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HYDRA_FULL_ERROR": "0"}
    env["DEEPIMG_DATA"] = str(cwd / ".deepimg-cache")
    return subprocess.Popen(
        [sys.executable, "-m", "deepimg.cli", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def signal_when(process: subprocess.Popen, path: Path, signum: int) -> tuple[int, str]:
    """Send ``signum`` once ``path`` exists (e.g. the first epoch's last.ckpt); returns the
    exit status and stderr."""
    deadline = time.monotonic() + 300
    while not path.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    process.send_signal(signum)
    _, err = process.communicate(timeout=300)
    return process.returncode, err


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def test_sigterm_stops_a_run_that_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert run_cli("train", *RUN, f"hydra.run.dir={whole}", cwd=tmp_path).returncode == 0

    process = start("train", *RUN, f"hydra.run.dir={cut}", cwd=tmp_path)
    code, err = signal_when(process, cut / "checkpoints" / "last.ckpt", signal.SIGTERM)
    assert code == 143
    assert err.strip().splitlines()[-1].startswith(
        "deepimg train: interrupted by SIGTERM after "
    ) and err.strip().endswith(f"resume with: deepimg train resume={cut}")
    assert "Traceback" not in err
    stopped = metrics(cut)
    assert stopped["status"] == "interrupted" and stopped["signal"] == "SIGTERM"
    assert 1 <= stopped["epochs"] < 12 and stopped["last_checkpoint"] == "checkpoints/last.ckpt"

    resumed = run_cli("train", f"resume={cut}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    after, reference = metrics(cut), metrics(whole)
    assert after["status"] == "completed" and after["epochs"] == 12
    assert after["resumed_from_epoch"] >= 1
    for key in ("test/acc", "test/loss", "val/acc_best"):  # same seed, same CPU: exactly
        assert after[key] == reference[key], key
    curves = pd.read_csv(cut / "metrics.csv")  # the learning curves cover the whole run
    assert sorted(curves["epoch"].dropna().unique()) == list(range(13))  # 12 epochs, then test


def test_after_sigkill_a_run_resumes_from_its_last_epoch_and_trains_longer(
    tmp_path: Path,
) -> None:
    run = tmp_path / "killed"
    process = start("train", *RUN, f"hydra.run.dir={run}", cwd=tmp_path)
    code, _ = signal_when(process, run / "checkpoints" / "last.ckpt", signal.SIGKILL)
    assert code == -signal.SIGKILL and not (run / "metrics.json").exists()

    refused = run_cli("train", f"resume={run}", "model.depth=3", cwd=tmp_path)
    assert_one_line_error(refused, "model.depth=3", "trainer.max_epochs")
    shorter = run_cli("train", f"resume={run}", "trainer.max_epochs=0", cwd=tmp_path)
    assert_one_line_error(shorter, "trainer.max_epochs=0", ">= 1")

    longer = run_cli("train", f"resume={run}", "trainer.max_epochs=14", cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr
    assert metrics(run)["status"] == "completed" and metrics(run)["epochs"] == 14
    again = run_cli("train", f"resume={run}", cwd=tmp_path)  # nothing left to do
    assert again.returncode == 0 and "nothing to resume" in again.stdout


def test_sigint_stops_a_sweep_whose_resume_finishes_only_the_unfinished_jobs(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    process = start("train", *RUN, "seed=0,1,2", f"hydra.sweep.dir={sweep}", "-m", cwd=tmp_path)
    code, err = signal_when(process, sweep / "1" / "checkpoints" / "last.ckpt", signal.SIGINT)
    assert code == 130
    assert err.strip().endswith(f"resume with: deepimg train resume={sweep}")
    assert metrics(sweep / "0")["status"] == "completed"
    assert metrics(sweep / "1")["status"] == "interrupted"
    assert not (sweep / "2").exists()  # the job not yet started was not started
    early = run_cli("report", str(sweep), "--out", str(tmp_path / "early"), cwd=tmp_path)
    assert early.returncode == 0, early.stderr
    assert (
        f"interrupted by SIGINT after {metrics(sweep / '1')['epochs']} epochs; resume with"
        in (tmp_path / "early" / "summary.md").read_text()
    )
    first = {p: p.stat().st_mtime_ns for p in (sweep / "0").rglob("*") if p.is_file()}

    resumed = run_cli("train", f"resume={sweep}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming 2 runs" in resumed.stdout
    for job in ("0", "1", "2"):
        assert metrics(sweep / job)["status"] == "completed", job
    assert metrics(sweep / "2")["epochs"] == 12
    assert first == {p: p.stat().st_mtime_ns for p in (sweep / "0").rglob("*") if p.is_file()}
    report = run_cli("report", str(sweep), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    summary = pd.read_csv(sweep / "report" / "summary.csv")
    assert summary["n"].tolist() == [3]  # three seeds of one setting, all completed


def test_resume_of_a_folder_without_runs_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("train", f"resume={tmp_path}", cwd=tmp_path), "holds no run")
    missing = tmp_path / "nowhere"
    assert_one_line_error(run_cli("train", f"resume={missing}", cwd=tmp_path), "no such folder")
    assert_one_line_error(run_cli("train", "resume=", cwd=tmp_path), "resume= needs a folder")
    assert_one_line_error(run_cli("eval", "ckpt=,", cwd=tmp_path), "names no checkpoint")


def test_a_sent_sweep_cannot_run_code_through_its_multirun_yaml(tmp_path: Path) -> None:
    """The jobs a resume starts are composed from the sweep's multirun.yaml, a file someone
    may have sent: a target that deepimg's configs never build is refused, nothing is run."""
    sweep = tmp_path / "sent"
    sweep.mkdir()
    victim = tmp_path / "victim.txt"
    overrides = [
        "dataset=digits", "augmentation=basic", "augmentation._target_=builtins.open",
        f"+augmentation.file={victim}", "+augmentation.mode=w",
    ]  # fmt: skip
    lines = "\n".join(f"    - {o}" for o in overrides)
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  sweep:\n    dir: x\n    subdir: ${hydra.job.num}\n"
        "  sweeper:\n    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        f"  overrides:\n    task:\n{lines}\n"
    )
    result = run_cli("train", f"resume={sweep}", cwd=tmp_path)
    assert_one_line_error(result, "augmentation._target_='builtins.open'", "refusing")
    assert not victim.exists() and not (sweep / "0").exists()


def test_ctrl_c_on_a_joblib_sweep_stops_its_workers_and_every_job_has_a_status(
    tmp_path: Path,
) -> None:
    """Ctrl+C reaches the terminal's whole process group: deepimg and joblib's workers. The
    workers end their jobs with a record, none is left running, and resume=SWEEP finishes the
    sweep through joblib again."""
    sweep = tmp_path / "sweep"
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HYDRA_FULL_ERROR": "0",
           "DEEPIMG_DATA": str(tmp_path / ".deepimg-cache")}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "deepimg.cli", "train", *RUN, "bits=1,2,3,4", "-m",
         "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not list(sweep.glob("*/checkpoints/last.ckpt")):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl+C does
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err[-2000:]
    assert group_ends(process.pid, within=30), "a worker of the sweep is still running"
    started = [run for run in sweep.iterdir() if (run / ".hydra").is_dir()]
    statuses = {metrics(run)["status"] for run in started}
    assert started and statuses <= {"interrupted", "completed"} and "interrupted" in statuses
    resumed = run_cli("train", f"resume={sweep}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "through joblib, as the sweep ran: 2 jobs at a time" in resumed.stdout
    assert {metrics(sweep / str(n))["status"] for n in range(4)} == {"completed"}


def group_ends(group: int, within: float) -> bool:
    """Whether every process of ``group`` ends within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_a_submitit_sweep_resumes_through_submitit(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    ran = run_cli(
        "train", "dataset=digits", "analysis=none", "trainer.max_epochs=1", "bits=1,2", "-m",
        "hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    for run in (sweep / "0", sweep / "1"):
        (run / "metrics.json").unlink()  # as if both were stopped after their last epoch
    resumed = run_cli("train", f"resume={sweep}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "through submitit, as the sweep ran: 2 local jobs" in resumed.stdout
    assert {metrics(sweep / str(n))["status"] for n in range(2)} == {"completed"}
