"""Test-time augmentation: the prediction averaged over moved copies of the scene.

The views move the *scene*, before the physical layer: the object moves, the sensor stays
(its pixels, mask and noise do not move with it). ``flip`` adds the left-right mirror image;
``flip_shift`` adds one-pixel shifts in the four directions, the uncovered edge filled with
zeros. Only classification is augmented: a flipped scene has a flipped mask or position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

TTA = Literal["none", "flip", "flip_shift"]
View = Callable[[torch.Tensor], torch.Tensor]


def shift(dy: int, dx: int) -> View:
    """Move the scene by (dy, dx) pixels, filling the uncovered edge with zeros."""

    def view(x: torch.Tensor) -> torch.Tensor:
        out = torch.roll(x, (dy, dx), dims=(-2, -1))
        if dy:
            out[..., slice(0, dy) if dy > 0 else slice(dy, None), :] = 0
        if dx:
            out[..., :, slice(0, dx) if dx > 0 else slice(dx, None)] = 0
        return out

    return view


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


def hflip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1)


def views(tta: str) -> list[View]:
    """The views of ``tta``; the first is the scene itself."""
    if tta == "none":
        return [identity]
    flips = [identity, hflip]
    if tta == "flip":
        return flips
    return [*flips, shift(1, 0), shift(-1, 0), shift(0, 1), shift(0, -1)]
