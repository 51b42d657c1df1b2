"""SIGINT and SIGTERM: stop the run where it is, keep what it saved, and say how to resume.

Lightning handles both signals its own way: on SIGTERM ``Trainer.fit`` ends with a
``SystemExit`` without a code (exit status 0, so a scheduler sees success), and on SIGINT it
calls ``sys.exit(1)``. deepimg installs its own handlers instead, which raise
``RunInterrupted``. That is a ``BaseException``, so Lightning tears down and re-raises it,
Hydra's launcher does not start the sweep's next job, and the command can write
``status: interrupted`` and exit with the shell's status for the signal (130, 143).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
    raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise RunInterrupted(signum)

    for s in SIGNALS:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
