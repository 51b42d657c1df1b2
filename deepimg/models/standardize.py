"""Standardise what the sensor delivered, with statistics measured on training data."""

from __future__ import annotations

import torch
from torch import nn


class Standardize(nn.Module):
    """y = (x - mean_c) / std_c per channel, with mean and std fitted once, then fixed.

    The statistics are buffers, so they travel with the checkpoint: a model re-tested
    under another sensor still sees its inputs standardised as during training.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
        self.register_buffer("std", torch.ones(1, channels, 1, 1))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Measure per-channel mean and std on a batch of measurements ``(B, C, H, W)``."""
        self.mean.copy_(x.mean(dim=(0, 2, 3), keepdim=True))
        self.std.copy_(x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
