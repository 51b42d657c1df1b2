"""Sampling with a non-uniform pixel layout: fine pixels in the centre, coarse at the edge."""

from __future__ import annotations

from typing import Annotated

import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer


def foveated_edges(length: int, pixels: int, fovea: float) -> torch.Tensor:
    """``pixels + 1`` pixel edges over ``[0, length]`` scene pixels, dense in the middle.

    The edges are a warped uniform grid: with ``u`` running uniformly over [-1, 1],

        edge(u) = length / 2 * (1 + (1 - fovea) u + fovea u^3)

    which is monotone for ``0 <= fovea < 1``; a pixel is ``(1 - fovea)`` times the uniform
    pitch wide in the centre and ``(1 + 2 fovea)`` times it at the edge. ``fovea = 0`` gives
    uniform pixels.
    """
    u = torch.linspace(-1, 1, pixels + 1, dtype=torch.float64)
    return length / 2 * (1 + (1 - fovea) * u + fovea * u**3)


def overlaps(edges: torch.Tensor, length: int) -> torch.Tensor:
    """``(pixels, length)``: how much of scene pixel ``[p, p + 1]`` each sensor pixel covers."""
    p = torch.arange(length, dtype=torch.float64)
    lo = torch.maximum(edges[:-1, None], p)
    hi = torch.minimum(edges[1:, None], p + 1)
    return (hi - lo).clamp_min(0)


class PixelLayout(PhysicalLayer):
    """A foveated sensor: ``pixels`` x ``pixels`` pixels, small in the centre, large at the edge.

    Each axis of the scene (``H`` and ``W`` scene pixels) is cut into ``pixels`` intervals
    whose edges follow ``foveated_edges`` (``fovea`` = 0: uniform, up to 0.95: strongly
    foveated); the sensor's pixels are the products of these intervals, so it has exactly
    ``pixels**2`` of them, the budget of a uniform ``pixels`` x ``pixels`` sensor. Each one
    integrates the irradiance over its area (the scene taken as constant over each of its
    own pixels):

        s(a, b) = (1 / |P_ab|) sum_{i,j} |P_ab  and  pixel (i, j)| x(i, j)      = A_y X A_x^T

    with row-stochastic averaging matrices ``A_y`` (pixels x H) and ``A_x`` (pixels x W).
    For the network the readings are painted back at the scene's size,

        y(i, j) = sum_{a,b} |P_ab  and  pixel (i, j)| s(a, b)                   = R_y S R_x^T

    with ``R = (|P_a| A)^T``: a scene pixel inside one sensor pixel shows its reading, one
    that a pixel boundary crosses shows the area-weighted mix. So ``out_shape == in_shape``,
    the information is that of the ``pixels**2`` readings (``sense``), and the total light
    is kept. Units: relative irradiance in, the same out. Central sensor pixels narrower
    than a scene pixel cannot see finer detail than the scene has: keep
    ``(1 - fovea) * H / pixels >= 1`` for every pixel to add information.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        pixels: Annotated[int, Range(1, 4096)] = 14,
        fovea: Annotated[float, Range(0, 0.95)] = 0.5,
    ) -> None:
        super().__init__(in_shape)
        _, height, width = self.in_shape
        if not 1 <= pixels <= min(height, width):
            raise ValueError(
                f"pixels={pixels} is not accepted: the {height}x{width} scene feeds "
                f"1..{min(height, width)} sensor pixels per side"
            )
        self.pixels, self.fovea = pixels, fovea
        for axis, length in (("y", height), ("x", width)):
            cover = overlaps(foveated_edges(length, pixels, fovea), length)
            area = cover.sum(dim=1, keepdim=True)  # the sensor pixels' widths, scene pixels
            # Derived from the arguments, so rebuilt rather than saved (persistent=False).
            self.register_buffer(f"average_{axis}", (cover / area).float(), persistent=False)
            self.register_buffer(f"render_{axis}", cover.T.float(), persistent=False)
            self.register_buffer(f"pitch_{axis}", area.squeeze(1).float(), persistent=False)

    @property
    def sensor_pixels(self) -> int:
        """The number of sensor pixels: exactly ``pixels**2``."""
        return len(self.pitch_y) * len(self.pitch_x)

    @property
    def pixel_pitch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Widths of the sensor pixels along y and x, in scene pixels."""
        return self.pitch_y, self.pitch_x

    def sense(self, x: torch.Tensor) -> torch.Tensor:
        """The sensor's readings ``(B, C, pixels, pixels)``: each pixel's mean irradiance."""
        return self.average_y.to(x.dtype) @ x @ self.average_x.to(x.dtype).T

    def render(self, s: torch.Tensor) -> torch.Tensor:
        """Readings painted back over the scene's pixels ``(B, C, H, W)``."""
        return self.render_y.to(s.dtype) @ s @ self.render_x.to(s.dtype).T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.render(self.sense(x))

    def maps(self) -> dict[str, torch.Tensor]:
        """``pixel_area``: the area (scene pixels) of the sensor pixel over each scene pixel;
        ``pixel_grid``: the sensor pixels as a checkerboard, to show their boundaries."""
        a = torch.arange(self.pixels, device=self.pitch_y.device)
        checker = ((a[:, None] + a[None, :]) % 2).float()
        area = torch.outer(self.pitch_y, self.pitch_x)
        return {"pixel_area": self.render(area), "pixel_grid": self.render(checker)}

    def extra_repr(self) -> str:
        return (
            f"sensor {self.pixels}x{self.pixels} = {self.sensor_pixels} pixels, "
            f"fovea={self.fovea:g}, pitch {self.pitch_x.min():.3g}..{self.pitch_x.max():.3g} "
            "scene pixels"
        )
