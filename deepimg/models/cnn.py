"""A plain convolutional classifier whose every design choice is a config key."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Network
from deepimg.models.layers import (
    Activation,
    Norm,
    SqueezeExcitation,
    conv_norm_act,
    feature_size,
    linear_stack,
)

Pooling = Literal["max", "avg", "none"]


class CNN(Network):
    """``depth`` conv blocks (conv -> norm -> activation [-> squeeze-excitation] -> pool),
    then an MLP head.

    Block ``i`` has ``channels * 2**i`` filters. Pooling halves the feature map while it
    is at least 2 pixels wide. The head flattens the last feature map, applies dropout,
    then one hidden layer per entry of ``fc`` before the ``num_classes`` logits.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: Annotated[int, Range(2)],
        depth: Annotated[int, Range(1, 8)] = 2,
        channels: Annotated[int, Range(1)] = 32,
        kernel_size: Annotated[int, Range(1)] = 3,
        stride: Annotated[int, Range(1)] = 1,
        padding: Annotated[int, Range(0)] | Literal["same"] = "same",
        pooling: Pooling = "max",
        activation: Activation = "relu",
        norm: Norm = "batch",
        dropout: Annotated[float, Range(0, 1)] = 0.0,
        fc: list[Annotated[int, Range(1)]] | None = None,
        se: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        blocks: list[nn.Module] = []
        c_in, (_, h, w) = in_shape[0], in_shape
        for i in range(depth):
            c_out = channels * 2**i
            blocks += conv_norm_act(c_in, c_out, kernel_size, stride, padding, norm, activation)
            if se:
                blocks.append(SqueezeExcitation(c_out))
            if pooling != "none" and min(h, w) >= 2:
                blocks.append(nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2))
            c_in = c_out
            _, h, w = feature_size(nn.Sequential(*blocks), in_shape)
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout),
            *linear_stack(c_in * h * w, fc or [], num_classes, activation, dropout),
        )  # fmt: skip
        self.initialize()

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Features before the last linear layer (for embeddings and analysis)."""
        return self.head[:-1](self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
