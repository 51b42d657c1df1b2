"""LeNet-5 (LeCun et al. 1998), as the lectures draw it."""

from __future__ import annotations

from typing import Annotated

import torch
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Network
from deepimg.models.layers import ACTIVATIONS, Activation, feature_size


class LeNet5(Network):
    """conv 6@5x5 -> tanh -> avg-pool 2 -> conv 16@5x5 -> tanh -> avg-pool 2 -> FC 120 -> FC 84
    -> ``num_classes``.

    For 28x28 input the first conv pads by 2, as LeNet's 32x32 input did: maps of 6@28x28,
    6@14x14, 16@10x10, 16@5x5, then 400 -> 120 -> 84. A map too small for the second conv
    unpadded (under 9 pixels, e.g. 8x8 digits) pads it too.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: Annotated[int, Range(2)],
        activation: Activation = "tanh",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        act = ACTIVATIONS[activation]
        side = min(in_shape[1:])
        first_pad = 2 if side < 32 else 0
        second_pad = 0 if (side + 2 * first_pad - 4) // 2 >= 9 else 2
        self.features = nn.Sequential(
            nn.Conv2d(in_shape[0], 6, 5, padding=first_pad), act(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5, padding=second_pad), act(), nn.AvgPool2d(2),
        )  # fmt: skip
        c, h, w = feature_size(self.features, in_shape)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c * h * w, 120), act(), nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )  # fmt: skip
        self.initialize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
