"""Sampling with a non-uniform pixel layout: fine pixels in the centre, coarse at the edge."""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Simplex
from deepimg.physics.functional import interval_overlaps
from deepimg.physics.parameter import PhysicalParameter


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


class PixelLayout(PhysicalLayer):
    """Pixels of different sizes: ``pixels`` x ``pixels`` of them, foveated, uniform or learned.

    Each axis of the scene (``H`` and ``W`` scene pixels) is cut into ``pixels`` intervals
    whose edges follow ``foveated_edges`` (``fovea`` = 0: uniform, up to 0.95: strongly
    foveated: small in the centre, large at the edge); the sensor's pixels are the products
    of these intervals, so it has exactly ``pixels**2`` of them, the budget of a uniform
    ``pixels`` x ``pixels`` sensor. Each one integrates the irradiance over its area (the
    scene taken as constant over each of its own pixels):

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

    The design is the pixels' widths along each axis as shares of the side, ``widths_y``
    and ``widths_x`` (each a ``Simplex``: positive, summing to 1, so the edges
    ``H * cumsum(widths)`` are monotone and span the scene with the same pixel count).
    ``learnable=true`` learns them: the area integral is piecewise linear in the edges, so
    the gradient moves each boundary towards where the network wants smaller pixels.
    ``init`` is where they start, and the layout of the fixed layer built from the same keys:
    ``classical``, the ``fovea`` layout (uniform for ``fovea=0``); ``uniform``, the uniform
    sensor's equal widths whatever ``fovea`` says. A learned layout starts within the
    ``Simplex`` floor of it (widths off by about 1e-4 of a width).
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        pixels: Annotated[int, Range(1, 4096)] = 14,
        fovea: Annotated[float, Range(0, 0.95)] = 0.5,
        init: Literal["classical", "uniform"] = "classical",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        _, height, width = self.in_shape
        if not 1 <= pixels <= min(height, width):
            raise ValueError(
                f"pixels={pixels} is not accepted: the {height}x{width} scene feeds "
                f"1..{min(height, width)} sensor pixels per side"
            )
        self.pixels, self.fovea, self.init = pixels, fovea, init
        start = 0.0 if init == "uniform" else fovea
        for axis, length in (("y", height), ("x", width)):
            shares = foveated_edges(length, pixels, start).diff() / length
            setattr(self, f"widths_{axis}", PhysicalParameter(shares, Simplex(dims=1), learnable))

    def edges(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The pixels' boundaries along y and x, ``pixels + 1`` each, in scene pixels."""
        found = []
        for widths, length in (
            (self.widths_y(), self.in_shape[1]),
            (self.widths_x(), self.in_shape[2]),
        ):
            # In float64: 28 float32 widths of 1/28 would put the edges 1e-7 off the pixels.
            shares = widths.double()
            ends = torch.cat([shares.new_zeros(1), shares.cumsum(0)])
            found.append(length * ends / ends[-1])  # exactly 0 and the side at the ends
        return found[0], found[1]

    def coverage(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pixels, H)`` and ``(pixels, W)``: the overlap of each sensor pixel's interval
        with each scene pixel, in scene pixels."""
        rows, cols = self.edges()
        return interval_overlaps(rows, self.in_shape[1]), interval_overlaps(cols, self.in_shape[2])

    @property
    def sensor_pixels(self) -> int:
        """The number of sensor pixels: exactly ``pixels**2``."""
        return self.pixels**2

    @property
    def pixel_pitch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Widths of the sensor pixels along y and x, in scene pixels."""
        rows, cols = self.edges()
        return rows.diff(), cols.diff()

    def sense(
        self, x: torch.Tensor, coverage: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The sensor's readings ``(B, C, pixels, pixels)``: each pixel's mean irradiance
        (``coverage``: the layer's, when the caller has it already)."""
        along_y, along_x = (c.to(x.dtype) for c in coverage or self.coverage())
        # A learned pixel can shrink to nothing (its width underflows): it then reads 0.
        average_y = along_y / along_y.sum(dim=1, keepdim=True).clamp_min(1e-30)
        average_x = along_x / along_x.sum(dim=1, keepdim=True).clamp_min(1e-30)
        return average_y @ x @ average_x.T

    def render(
        self, s: torch.Tensor, coverage: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Readings painted back over the scene's pixels ``(B, C, H, W)``."""
        along_y, along_x = (c.to(s.dtype) for c in coverage or self.coverage())
        return along_y.T @ s @ along_x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coverage = self.coverage()  # once a batch: a learned layout's edges change each step
        return self.render(self.sense(x, coverage), coverage)

    def grids(self) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
        rows, cols = self.edges()
        return {"pixel_edges": [(rows.detach(), cols.detach())]}

    def maps(self) -> dict[str, torch.Tensor]:
        """``pixel_area``: the area (scene pixels) of the sensor pixel over each scene pixel;
        ``pixel_grid``: the sensor pixels as a checkerboard, to show their boundaries."""
        with torch.no_grad():
            pitch_y, pitch_x = self.pixel_pitch
            a = torch.arange(self.pixels, device=pitch_y.device)
            checker = ((a[:, None] + a[None, :]) % 2).float()
            area = torch.outer(pitch_y, pitch_x)
            return {"pixel_area": self.render(area), "pixel_grid": self.render(checker)}

    def extra_repr(self) -> str:
        pitch = torch.cat(self.pixel_pitch).detach()
        layout = "learnable" if self.learnable else f"fovea={self.fovea:g}"
        return (
            f"sensor {self.pixels}x{self.pixels} = {self.sensor_pixels} pixels, {layout}, "
            f"pitch {pitch.min():.3g}..{pitch.max():.3g} scene pixels"
        )
