"""DnCNN (Zhang et al. 2017): a plain stack of convolutions that learns a residual."""

from __future__ import annotations

from typing import Annotated, ClassVar

from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Output
from deepimg.models.layers import ACTIVATIONS, Activation, Norm, conv_norm_act


class DnCNN(nn.Module):
    """``depth`` 3x3 convolutions at full resolution: conv -> activation, then ``depth - 2``
    times conv -> norm -> activation, then a conv to ``out_channels``.

    The light image-to-image option: no down-sampling, so its receptive field is
    ``2 * depth + 1`` pixels, enough for noise and mild blur, short for large blur. The last
    convolution starts at zero, so as a residual network it starts from its input.
    """

    outputs: ClassVar[frozenset[Output]] = frozenset({"map"})

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        out_channels: Annotated[int, Range(1)],
        depth: Annotated[int, Range(2, 64)] = 8,
        channels: Annotated[int, Range(1)] = 32,
        norm: Norm = "batch",
        activation: Activation = "relu",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_shape[0], channels, 3, padding=1),
            ACTIVATIONS[activation](),
        ]
        for _ in range(depth - 2):
            layers += conv_norm_act(channels, channels, 3, 1, 1, norm, activation)
        last = nn.Conv2d(channels, out_channels, 3, padding=1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.layers = nn.Sequential(*layers, last)

    def forward(self, x):
        return self.layers(x)
