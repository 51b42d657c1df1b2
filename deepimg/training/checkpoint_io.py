"""Checkpoints written atomically, in the run folder itself.

A checkpoint is written to a temporary file beside its destination, then renamed over it:
a reader (a resume, a test) sees the old checkpoint or the whole new one, never a truncated
one, even when the disk fills half-way (a temporary file elsewhere would be copied across
filesystems, and a full disk truncates the copy). On a full disk the old checkpoint stays,
and the run ends with one line that says so (``DiskFull``).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO


class DiskFull(OSError):
    """No space left to write a checkpoint; the previous one is intact."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, writing through a temporary file in the same folder."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
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
