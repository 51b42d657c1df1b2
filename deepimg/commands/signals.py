"""SIGINT and SIGTERM: stop the run where it is, keep what it saved, and say how to resume.

Lightning handles both signals its own way: on SIGTERM ``Trainer.fit`` ends with a
``SystemExit`` without a code (exit status 0, so a scheduler sees success), and on SIGINT it
calls ``sys.exit(1)``. deepimg installs its own handlers instead, which raise
``RunInterrupted``. That is a ``BaseException``, so Lightning tears down and re-raises it,
Hydra's launcher does not start the sweep's next job, and the command can write
``status: interrupted`` and exit with the shell's status for the signal (130, 143).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
RAISED = threading.Event()  # set once a signal has been turned into RunInterrupted


class RunInterrupted(BaseException):  # noqa: N818 - it is an interruption, not an error
    """A signal asked the run to stop; ``run_dir`` is the run it stopped, once known, and
    ``epochs`` how many epochs that run had completed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.run_dir: Path | None = None
        self.epochs = 0  # epochs the run completed before the signal

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process that a signal ended."""
        return 128 + self.signum


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM raises ``RunInterrupted``; any later
    one is ignored, so that the run's record is written whole."""
    previous = {s: signal.getsignal(s) for s in SIGNALS}

    def handler(signum: int, frame: FrameType | None) -> None:
        if not RAISED.is_set():  # one interruption a process, however the blocks nest
            RAISED.set()
            raise RunInterrupted(signum)

    if threading.current_thread() is not threading.main_thread():  # a launcher's thread:
        yield  # signals reach the main thread only, whose handlers stay
        return
    for s in SIGNALS:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def stop_workers() -> None:
    """After a signal, end the workers of a parallel launcher that this process started
    (joblib's loky processes keep running a job otherwise, after the sweep has stopped):
    each is sent the signal's twin, SIGTERM, ends its job with ``status: interrupted``, and
    is then killed if it has not ended."""
    import sys

    if "joblib" not in sys.modules:
        return
    from joblib.externals.loky import get_reusable_executor

    executor = get_reusable_executor()
    workers = list(getattr(executor, "_processes", {}).values())
    for worker in workers:
        with contextlib.suppress(OSError):
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.join(timeout=30)
    executor.shutdown(wait=False, kill_workers=True)


def mark_interrupted(folder: Path | None, signum: int) -> int:
    """Give every run of the sweep in ``folder`` that started and has no ``metrics.json`` the
    status it has: interrupted, with the epochs its ``last.ckpt`` holds; returns how many."""
    from deepimg.commands.runs import find_runs, read_metrics, write_metrics

    if folder is None or not folder.is_dir():
        return 0
    marked = 0
    for run in find_runs(folder):
        if read_metrics(run) is not None:
            continue
        last = run / "checkpoints" / "last.ckpt"
        write_metrics(run, {
            "status": "interrupted", "signal": signal.Signals(signum).name,
            "epochs": last_epochs(last), "last_checkpoint": "checkpoints/last.ckpt" if last.is_file() else None,
        })  # fmt: skip
        marked += 1
    return marked


def last_epochs(last: Path) -> int:
    """The epochs a ``last.ckpt`` holds (0 without one)."""
    if not last.is_file():
        return 0
    import torch

    try:
        return (
            int(torch.load(last, map_location="cpu", weights_only=True, mmap=True).get("epoch", -1))
            + 1
        )
    except Exception:  # noqa: BLE001 - a checkpoint cut off by the signal holds no epoch
        return 0
