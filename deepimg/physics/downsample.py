"""Sampling: how many pixels does the task need?"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F

from deepimg.config.constraints import Range
from deepimg.physics import functional
from deepimg.physics.base import PhysicalLayer, checked_arguments


class Downsample(PhysicalLayer):
    """A sensor of ``pixels`` x ``pixels``, or of the scene's size divided by ``factor`` when set.

    With ``antialias`` (the default) each sensor pixel integrates the irradiance over its
    area, as a real pixel does:

        y(i, j) = mean of x over the scene area that sensor pixel (i, j) covers

    (area-weighted where the sizes do not divide). Without it each pixel samples the
    scene at its centre, and fine detail aliases. Units: unitless irradiance in, the
    same out. ``resize_back`` repeats each sensor pixel (nearest) to the scene's size, so
    a network built for the scene size reads it; the information is that of the sensor.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        pixels: Annotated[int, Range(1, 4096)] | None = None,
        factor: Annotated[int, Range(1, 256)] | None = None,
        antialias: bool = True,
        resize_back: bool = False,
    ) -> None:
        super().__init__(in_shape)
        _, h, w = self.in_shape
        if factor is not None:  # binning wins, so `factor=2` alone is enough on the command line
            self.sensor_size = (max(1, h // factor), max(1, w // factor))
        elif pixels is not None:
            self.require_pixels("pixels", pixels)
            self.sensor_size = (pixels, pixels)
        else:
            raise ValueError("set pixels (sensor pixels per side) or factor (binning)")
        self.antialias, self.resize_back = antialias, resize_back

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return self.in_shape if self.resize_back else (self.in_shape[0], *self.sensor_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = "area" if self.antialias else "nearest"
        y = F.interpolate(x, size=self.sensor_size, mode=mode)
        if self.resize_back:
            y = F.interpolate(y, size=self.in_shape[1:], mode="nearest")
        return y

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """Bilinear interpolation back to the scene's size (pre-upsampling super-resolution)."""
        return functional.resize(y, self.in_shape[1:])

    def extra_repr(self) -> str:
        return f"sensor {self.sensor_size[0]}x{self.sensor_size[1]}, antialias={self.antialias}"
