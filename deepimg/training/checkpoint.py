"""Reading a checkpoint that someone may have sent: weights only, never pickled code."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import torch

from deepimg.errors import UserError


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A deepimg checkpoint, loaded without executing pickled code (``weights_only=True``)."""
    if path.is_dir():
        raise UserError(
            f"'{path}' is a folder; give a checkpoint file such as {path}/checkpoints/best.ckpt"
        )
    if path.exists() and not path.is_file():  # /dev/zero, a FIFO: never read
        raise UserError(f"'{path}' is not a regular file; give a run's checkpoints/best.ckpt")
    if not path.is_file():
        raise UserError(f"checkpoint '{path}' does not exist; give a run's checkpoints/best.ckpt")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - the unpickler fails many ways on a foreign file
        reason = textwrap.shorten(
            str(err).splitlines()[0] if str(err) else type(err).__name__, 120, placeholder=" ..."
        )
        raise UserError(f"'{path}' is not a deepimg checkpoint ({reason})") from None
    if (
        not isinstance(checkpoint, dict)
        or "deepimg" not in checkpoint
        or "state_dict" not in checkpoint
    ):
        raise UserError(
            f"'{path}' is not a deepimg checkpoint (it was not written by deepimg train)"
        )
    return checkpoint
