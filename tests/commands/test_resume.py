"""Resuming a received run folder: its trackers write where this machine says, never where
the folder's config says."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from deepimg.commands.resume import own_trackers, resume_settings
from deepimg.config.compose import compose
from deepimg.errors import UserError
from tests.conftest import QUICK, run_cli


def received(**settings: str) -> OmegaConf:
    """A run's config with TensorBoard and MLflow chosen, and ``settings`` planted in it."""
    cfg = compose(["dataset=digits", "logger=[tensorboard,mlflow]"])
    OmegaConf.set_struct(cfg, False)
    for key, value in settings.items():
        OmegaConf.update(cfg, key.replace("__", "."), value, force_add=True)
    return cfg


def test_tracker_destinations_come_from_this_machine(capsys) -> None:
    cfg = received(
        logger__tensorboard__save_dir="/tmp/elsewhere",
        logger__mlflow__tracking_uri="http://127.0.0.1:9",
    )
    own_trackers(cfg, [], "sent/.hydra/config.yaml")
    trackers = OmegaConf.to_container(cfg.logger, resolve=False)
    assert trackers["tensorboard"]["save_dir"] == "${paths.output_dir}"  # the run's own folder
    assert trackers["mlflow"]["tracking_uri"] is None  # None: the local store under outputs/
    assert sorted(trackers) == ["csv", "mlflow", "tensorboard"]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "ignoring logger.tensorboard.save_dir, logger.mlflow.tracking_uri" in lines[0]
    assert "sent/.hydra/config.yaml" in lines[0]


def test_an_own_config_resumes_without_a_word(capsys) -> None:
    cfg = received()
    own_trackers(cfg, [], "mine")
    assert capsys.readouterr().err == ""


def test_the_command_line_may_set_a_tracker_destination(capsys) -> None:
    cfg = received(logger__mlflow__tracking_uri="http://127.0.0.1:9")
    settings = resume_settings(
        ["logger.mlflow.tracking_uri=sqlite:///mine.db", "trainer.max_epochs=3"]
    )
    assert settings.max_epochs == 3
    own_trackers(cfg, settings.logger, "sent")
    assert cfg.logger.mlflow.tracking_uri == "sqlite:///mine.db"
    assert capsys.readouterr().err == ""  # what the user gave is not "ignored"


def test_unknown_trackers_and_other_overrides_are_one_line() -> None:
    with pytest.raises(UserError, match="trackers are csv"):
        own_trackers(received(), ["logger.neptune.api_key=x"], "sent")
    with pytest.raises(UserError, match="overrides accepted are trainer.max_epochs"):
        resume_settings(["model.width=8"])


class Listener:
    """A TCP server on a free local port that counts the connections made to it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.mark.slow
def test_a_received_run_resumes_with_its_trackers_kept_home(tmp_path: Path) -> None:
    run, outside, listener = tmp_path / "sent", tmp_path / "outside", Listener()
    trained = run_cli(
        "train", "dataset=digits", "analysis=none", *QUICK, f"hydra.run.dir={run}", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    saved = run / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(saved)
    cfg.logger = compose(["logger=[tensorboard,mlflow]"]).logger
    cfg.logger.tensorboard.save_dir = str(outside)
    cfg.logger.mlflow.tracking_uri = f"http://127.0.0.1:{listener.port}"
    OmegaConf.save(cfg, saved)
    (run / "metrics.json").unlink()  # as if it had been stopped

    resumed = run_cli("train", f"resume={run}", "trainer.max_epochs=2", cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    assert "ignoring logger.tensorboard.save_dir, logger.mlflow.tracking_uri" in resumed.stderr
    assert not outside.exists() and listener.connections == 0
    assert (run / "tensorboard").is_dir()  # the tracker wrote inside the run
    assert '"status": "completed"' in (run / "metrics.json").read_text()


@pytest.mark.slow
def test_a_run_killed_after_its_last_epoch_resumes_to_its_test_and_figures(tmp_path: Path) -> None:
    """Killed while testing or drawing (seconds, so common): last.ckpt holds every epoch,
    and the resume goes on to test and draw instead of failing."""
    run = tmp_path / "run"
    trained = run_cli("train", "dataset=digits", *QUICK, f"hydra.run.dir={run}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    first = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").unlink()
    (run / "index.html").unlink()
    resumed = run_cli("train", f"resume={run}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    again = json.loads((run / "metrics.json").read_text())
    assert again["status"] == "completed" and again["resumed_from_epoch"] == 1
    assert again["test/acc"] == first["test/acc"]  # the same best checkpoint, tested again
    assert (run / "index.html").is_file()


@pytest.mark.slow
def test_resume_from_a_relative_path_as_printed(tmp_path: Path) -> None:
    """The README's own form, deepimg train resume=outputs/r2 trainer.max_epochs=2, from the
    folder the run was started in: a relative path works as an absolute one does."""
    trained = run_cli("train", "dataset=digits", *QUICK, "hydra.run.dir=outputs/r2", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    (tmp_path / "outputs" / "r2" / "metrics.json").unlink()  # as if it had been stopped
    resumed = run_cli("train", "resume=outputs/r2", "trainer.max_epochs=2", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    again = json.loads((tmp_path / "outputs" / "r2" / "metrics.json").read_text())
    assert again["status"] == "completed" and again["epochs"] == 2
    assert again["best_checkpoint"] == "checkpoints/best.ckpt"


@pytest.mark.slow
def test_a_completed_run_trains_longer_in_a_new_folder(tmp_path: Path) -> None:
    """resume=<completed run> trainer.max_epochs=N goes on from its last.ckpt into a new
    folder that says where it came from; the completed run is not touched."""
    trained = run_cli("train", "dataset=digits", *QUICK, "hydra.run.dir=done", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "done").rglob("*") if p.is_file()}
    longer = run_cli("train", "resume=done", "trainer.max_epochs=3", cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr[-2000:]
    (new,) = (tmp_path / "outputs").glob("*/*")
    assert f"1 completed runs of done train longer, in {new.resolve()}" in longer.stdout
    metrics = json.loads((new / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["continued_from"] == str(
        (tmp_path / "done").resolve()
    )
    assert metrics["resumed_from_epoch"] == 1
    assert {
        p: p.stat().st_mtime_ns for p in (tmp_path / "done").rglob("*") if p.is_file()
    } == before
    again = run_cli("train", "resume=done", cwd=tmp_path)  # no more epochs asked: nothing to do
    assert "nothing to resume in done: its 1 runs completed" in again.stdout


@pytest.mark.slow
def test_a_copied_run_resumes_from_its_own_checkpoints(tmp_path: Path) -> None:
    """A run folder copied elsewhere carries checkpoint state that names the original folder:
    the copy resumes and tests from its own files, writes no last-v1.ckpt, and leaves the
    original untouched."""
    import shutil

    original, copy = tmp_path / "original", tmp_path / "copy"
    trained = run_cli("train", "dataset=digits", *QUICK, f"hydra.run.dir={original}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    shutil.copytree(original, copy)
    (copy / "metrics.json").unlink()
    before = {p: p.stat().st_mtime_ns for p in original.rglob("*") if p.is_file()}
    resumed = run_cli("train", f"resume={copy}", "trainer.max_epochs=2", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert sorted(p.name for p in (copy / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert json.loads((copy / "metrics.json").read_text())["epochs"] == 2
    assert {p: p.stat().st_mtime_ns for p in original.rglob("*") if p.is_file()} == before
