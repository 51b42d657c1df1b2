"""VGG-style stacks (Simonyan and Zisserman 2015), sized for small images."""

from __future__ import annotations

from typing import Annotated

import torch
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Network
from deepimg.models.layers import Norm, conv_norm_act, feature_size


class VGG(Network):
    """Stages of 3x3 conv -> norm -> ReLU, each stage closed by a 2x2 max-pool (while the map
    is at least 2 pixels wide); ``stages[i]`` convs of ``channels * 2**i`` filters in stage i.
    Then global average pooling, dropout, a hidden layer of ``fc`` units and the logits.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: Annotated[int, Range(2)],
        stages: list[Annotated[int, Range(1)]] | None = None,
        channels: Annotated[int, Range(1)] = 32,
        norm: Norm = "batch",
        fc: Annotated[int, Range(1)] = 256,
        dropout: Annotated[float, Range(0, 1)] = 0.3,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        layers: list[nn.Module] = []
        c_in = in_shape[0]
        for i, convs in enumerate(stages or [2, 2, 2]):
            c_out = channels * 2**i
            for _ in range(convs):
                layers += conv_norm_act(c_in, c_out, 3, 1, 1, norm, "relu")
                c_in = c_out
            if min(feature_size(nn.Sequential(*layers), in_shape)[1:]) >= 2:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_in, fc),
            nn.ReLU(), nn.Dropout(dropout), nn.Linear(fc, num_classes),
        )  # fmt: skip
        self.initialize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
