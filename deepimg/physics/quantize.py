"""The analogue-to-digital converter: how many bits does the task need?"""

from __future__ import annotations

from typing import Annotated

import torch
from torch import nn

from deepimg.constraints import Range
from deepimg.physics import functional as F
from deepimg.physics.base import PhysicalLayer

BITS = Range(1, 16)


class Quantize(PhysicalLayer):
    """Uniform ``bits``-bit ADC, optionally behind a learned per-pixel gain.

    Forward model, on relative irradiance ``x`` in [0, 1] (unitless, 1 = full scale):

        y = round(clip(g * x, 0, 1) * (2^bits - 1)) / (2^bits - 1)

    ``y`` is the digital number divided by its full scale, so it stays in [0, 1] with
    ``2^bits`` levels. ``g`` is a per-pixel gain (unitless), 1 everywhere unless
    ``learnable``: then ``g = exp(log_gain)`` is trained with the network, which moves each
    pixel's thresholds (for 1 bit, pixel (i, j) fires when ``x > 0.5 / g_ij``), and its map
    shows where the network wants more sensitivity. Rounding passes its gradient straight
    through; the clip keeps its true gradient.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        bits: Annotated[int, BITS] = 8,
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        if isinstance(bits, bool) or not isinstance(bits, int) or bits not in BITS:
            raise ValueError(f"bits must be an integer {BITS}, got {bits!r}")
        self.bits = bits
        self.learnable = learnable
        if learnable:
            # Log-parameterised so the gain stays positive after every optimizer step.
            self.log_gain = nn.Parameter(torch.zeros(self.in_shape))

    @property
    def gain(self) -> torch.Tensor | None:
        return self.log_gain.exp() if self.learnable else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.learnable:
            x = x * self.gain
        return F.quantize(x, self.bits)

    def maps(self) -> dict[str, torch.Tensor]:
        return {"gain": self.gain.detach()} if self.learnable else {}

    def extra_repr(self) -> str:
        return f"bits={self.bits}, learnable={self.learnable}"
