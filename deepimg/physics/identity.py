"""The ideal sensor: the network sees the scene itself."""

from __future__ import annotations

import torch

from deepimg.physics.base import PhysicalLayer


class Identity(PhysicalLayer):
    """No physical layer: y = x (relative irradiance in [0, 1], unitless)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
