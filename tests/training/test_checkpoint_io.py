"""Checkpoints are written atomically in the run folder: a full disk leaves the previous one."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch

from deepimg.training.checkpoint_io import AtomicCheckpointIO, DiskFull


def test_a_checkpoint_is_written_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 3, "state_dict": {"w": torch.ones(2)}}, path)
    assert torch.load(path, weights_only=True)["epoch"] == 3
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left


def test_a_full_disk_leaves_the_previous_checkpoint_intact(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1}, path)
    before = path.read_bytes()

    def half_written(obj, handle, *args, **kwargs):
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", half_written)
    with pytest.raises(DiskFull, match="no space left on the device to write last.ckpt"):
        io.save_checkpoint({"epoch": 2}, path)
    assert path.read_bytes() == before  # the old checkpoint, whole
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_other_write_errors_pass_through(tmp_path: Path, monkeypatch) -> None:
    def denied(obj, handle, *args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(torch, "save", denied)
    with pytest.raises(OSError) as caught:
        AtomicCheckpointIO().save_checkpoint({}, tmp_path / "best.ckpt")
    assert not isinstance(caught.value, DiskFull) and caught.value.errno == errno.EACCES


class Stopped(BaseException):
    """What deepimg's signal handler raises (RunInterrupted), without the commands layer."""


def test_a_signal_during_the_write_waits_for_the_whole_checkpoint(tmp_path, monkeypatch) -> None:
    """Ctrl+C while torch.save writes: the checkpoint is written and renamed whole, and the
    interruption comes right after, not as torch's "unexpected pos" error."""
    import signal

    import deepimg.training.checkpoint_io as checkpoint_io

    real_save = torch.save

    def interrupted_save(obj, handle, *args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # arrives half-way through the write
        real_save(obj, handle, *args, **kwargs)

    def stop(signum, frame):
        raise Stopped

    monkeypatch.setattr(checkpoint_io.torch, "save", interrupted_save)
    previous = signal.signal(signal.SIGINT, stop)
    path = tmp_path / "last.ckpt"
    try:
        with pytest.raises(Stopped):
            AtomicCheckpointIO().save_checkpoint({"epoch": 7}, path)
        assert signal.getsignal(signal.SIGINT) is stop  # the run's handler is back
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.setattr(checkpoint_io.torch, "save", real_save)
    assert torch.load(path, weights_only=True)["epoch"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
