"""A multilayer perceptron: every pixel is an input, nothing is shared across positions."""

from __future__ import annotations

import math
from typing import Annotated

import torch
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Network
from deepimg.models.layers import Activation, linear_stack


class MLP(Network):
    """flatten -> (linear -> activation -> dropout) per entry of ``hidden`` -> linear logits."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: Annotated[int, Range(2)],
        hidden: list[Annotated[int, Range(1)]] | None = None,
        activation: Activation = "relu",
        dropout: Annotated[float, Range(0, 1)] = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        widths = [256, 128] if hidden is None else hidden
        self.layers = nn.Sequential(
            nn.Flatten(),
            *linear_stack(math.prod(in_shape), widths, num_classes, activation, dropout),
        )
        self.initialize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
