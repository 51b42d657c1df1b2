"""A small DenseNet-BC (Huang et al. 2017): every layer reads all earlier feature maps."""

from __future__ import annotations

from typing import Annotated

import torch
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Network


class DenseLayer(nn.Module):
    """Bottleneck: BN -> ReLU -> 1x1 conv (4k) -> BN -> ReLU -> 3x3 conv (k new maps),
    concatenated to its input."""

    def __init__(self, c_in: int, growth: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(),
            nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.layers(x)], dim=1)


class DenseNet(Network):
    """A 3x3 stem of ``2 * growth`` maps, dense blocks of ``blocks[i]`` layers each adding
    ``growth`` maps, joined by transitions (BN -> ReLU -> 1x1 conv keeping ``compression`` of
    the maps -> 2x2 average pool, while the map is at least 2 pixels wide), then BN -> ReLU
    -> global average pool -> linear."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: Annotated[int, Range(2)],
        growth: Annotated[int, Range(1)] = 12,
        blocks: list[Annotated[int, Range(1)]] | None = None,
        compression: Annotated[float, Range(0.1, 1)] = 0.5,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        c, side = 2 * growth, min(in_shape[1:])
        layers: list[nn.Module] = [nn.Conv2d(in_shape[0], c, 3, padding=1, bias=False)]
        sizes = blocks or [6, 6, 6]
        for i, n in enumerate(sizes):
            for _ in range(n):
                layers.append(DenseLayer(c, growth))
                c += growth
            if i < len(sizes) - 1:
                c_out = max(1, int(c * compression))
                layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c_out, 1, bias=False)]
                if side >= 2:
                    layers.append(nn.AvgPool2d(2))
                    side //= 2
                c = c_out
        layers += [nn.BatchNorm2d(c), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
        self.initialize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
