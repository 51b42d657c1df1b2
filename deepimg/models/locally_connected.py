"""Locally connected layers: a convolution whose weights differ at every position."""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Output
from deepimg.models.layers import ACTIVATIONS, Activation


class LocallyConnected2d(nn.Module):
    """``y[o, p] = b[o, p] + sum_{i, d} W[p, o, i, d] x[i, p + d]``: a ``kernel_size`` window
    around each output position ``p``, with weights of its own at every ``p`` (unshared).

    A shift-variant system (a PSF that changes across the field) is undone by an operator
    that changes across the field too; a convolution cannot be one, this layer can. Stride 1,
    zero padding: the output has the input's height and width.
    """

    def __init__(
        self, in_channels: int, out_channels: int, size: tuple[int, int], kernel_size: int
    ) -> None:
        super().__init__()
        h, w = size
        fan_in = in_channels * kernel_size**2
        self.kernel_size, self.size = kernel_size, (h, w)
        self.weight = nn.Parameter(
            torch.randn(h * w, out_channels, fan_in) * math.sqrt(2.0 / fan_in)  # He
        )
        self.bias = nn.Parameter(torch.zeros(out_channels, h, w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = F.unfold(x, self.kernel_size, padding=self.kernel_size // 2)  # (B, fan_in, H*W)
        out = torch.einsum("poi,bip->bop", self.weight, columns)
        return out.view(x.shape[0], -1, *self.size) + self.bias


class LocallyConnected(nn.Module):
    """``depth`` locally connected layers with activations, for images or for classes.

    Given ``out_channels`` it is an image-to-image network (restore, segment): a last
    locally connected layer gives ``out_channels`` maps, starting at zero so a residual
    network starts from its input. Given ``num_classes`` it is a classifier: the last
    feature maps are flattened into a linear layer.
    """

    outputs: ClassVar[frozenset[Output]] = frozenset({"vector", "map"})

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        out_channels: Annotated[int, Range(1)] | None = None,
        num_classes: Annotated[int, Range(2)] | None = None,
        depth: Annotated[int, Range(1, 8)] = 2,
        channels: Annotated[int, Range(1)] = 8,
        kernel_size: Annotated[int, Range(1, 15)] = 5,
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        if (out_channels is None) == (num_classes is None):
            raise ValueError("give locally_connected either out_channels or num_classes")
        c, h, w = in_shape
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [
                LocallyConnected2d(c if i == 0 else channels, channels, (h, w), kernel_size),
                ACTIVATIONS[activation](),
            ]
        self.features = nn.Sequential(*layers)
        if out_channels is not None:
            self.head = LocallyConnected2d(channels, out_channels, (h, w), kernel_size)
            nn.init.zeros_(self.head.weight)
        else:
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * h * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
