"""Checkpoints written atomically, in the run folder itself.

A checkpoint is written to a temporary file beside its destination, then renamed over it:
a reader (a resume, a test) sees the old checkpoint or the whole new one, never a truncated
one, even when the disk fills half-way (a temporary file elsewhere would be copied across
filesystems, and a full disk truncates the copy). On a full disk the old checkpoint stays,
and the run ends with one line that says so (``DiskFull``).

A SIGINT or SIGTERM that arrives while the checkpoint is written waits until it is written:
its handler (deepimg's, which stops the run as interrupted) raised inside ``torch.save``
left the zip writer half-way, and torch's ``RuntimeError`` ("unexpected pos") then recorded
an interrupted run as failed (seen in a joblib sweep stopped by Ctrl+C).
"""

from __future__ import annotations

import errno
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are held; the first one caught is raised again
    once the block ends, to the handlers that were in place."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main
        yield  # thread only
        return
    caught: list[int] = []
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        if caught:
            signal.raise_signal(caught[0])


class DiskFull(OSError):
    """No space left to write a checkpoint; the previous one is intact."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, writing through a temporary file in the same folder."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with signals_deferred():  # written and renamed whole, then any signal acts
            self._write(checkpoint, path)

    @staticmethod
    def _write(checkpoint: dict[str, Any], path: Path) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(checkpoint, handle)
            os.replace(tmp, path)
        except OSError as err:
            Path(tmp).unlink(missing_ok=True)
            if err.errno == errno.ENOSPC:
                raise DiskFull(
                    errno.ENOSPC,
                    f"no space left on the device to write {path.name} in {path.parent}; the "
                    "previous checkpoint is intact: free some space and resume the run",
                ) from None
            raise
