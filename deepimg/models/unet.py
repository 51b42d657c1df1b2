"""U-Net (Ronneberger et al. 2015): an image-to-image network with skip connections."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Output
from deepimg.models.layers import Activation, Norm, conv_norm_act


def conv_block(c_in: int, c_out: int, norm: str, activation: str) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by a normalisation and an activation."""
    first = conv_norm_act(c_in, c_out, 3, 1, 1, norm, activation)
    return nn.Sequential(*first, *conv_norm_act(c_out, c_out, 3, 1, 1, norm, activation))


class UNet(nn.Module):
    """An encoder of ``depth`` down-sampling levels and a decoder that climbs back with skips.

    Level ``i`` has ``channels * 2**i`` feature maps. Each down step is a 2x2 max-pool that
    rounds up (28 -> 14 -> 7 -> 4), and each up step brings the coarse map to exactly the
    size of its skip connection, so odd sizes work: ``up="bilinear"`` interpolates and then
    convolves; ``up="transposed"`` is a learned 2x2 transposed convolution, cropped to fit.
    A 1x1 convolution gives ``out_channels`` maps at the input's size. It starts at zero,
    so a residual network (restoration) starts from its input.
    """

    outputs: ClassVar[frozenset[Output]] = frozenset({"map"})

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        out_channels: Annotated[int, Range(1)],
        depth: Annotated[int, Range(0, 6)] = 2,
        channels: Annotated[int, Range(1)] = 32,
        norm: Norm = "batch",
        activation: Activation = "relu",
        up: Literal["bilinear", "transposed"] = "bilinear",
    ) -> None:
        super().__init__()
        c_in, h, w = in_shape
        levels = [channels * 2**i for i in range(depth + 1)]
        if min(h, w) < 2**depth:
            raise ValueError(
                f"a U-Net of depth {depth} halves a {h}x{w} image {depth} times; "
                f"choose model.depth <= {max(0, min(h, w).bit_length() - 1)}"
            )
        self.down = nn.ModuleList(
            [conv_block(c_in, levels[0], norm, activation)]
            + [conv_block(a, b, norm, activation) for a, b in zip(levels, levels[1:], strict=False)]
        )
        self.up_mode = up
        self.lift = nn.ModuleList(
            nn.ConvTranspose2d(b, a, 2, stride=2) if up == "transposed" else nn.Conv2d(b, a, 1)
            for a, b in zip(levels, levels[1:], strict=False)
        )
        self.up = nn.ModuleList(conv_block(2 * a, a, norm, activation) for a in levels[:-1])
        self.out = nn.Conv2d(levels[0], out_channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def lift_to(self, i: int, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        """Bring the coarse map ``x`` to the skip connection's ``size``."""
        if self.up_mode == "bilinear":
            return self.lift[i](F.interpolate(x, size=size, mode="bilinear", align_corners=False))
        return self.lift[i](x)[..., : size[0], : size[1]]  # 2x, then crop the rounded-up pixel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                x = F.max_pool2d(x, 2, ceil_mode=True)
            x = block(x)
            skips.append(x)
        for i in reversed(range(len(self.up))):
            skip = skips[i]
            x = self.up[i](torch.cat([skip, self.lift_to(i, x, skip.shape[-2:])], dim=1))
        return self.out(x)
