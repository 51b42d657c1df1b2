"""Several low-resolution cameras: where should n cameras look for the task to go best?"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics import psf as psfs
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Bounded
from deepimg.physics.functional import interval_overlaps
from deepimg.physics.parameter import PhysicalParameter


def grid_offsets(cameras: int) -> torch.Tensor:
    """``(n, 2)`` sub-pixel offsets (rows, columns), in camera pixels, spread evenly.

    The cameras' grids sit at the centres of the cells of a ``g x h`` lattice over one camera
    pixel (``g = ceil(sqrt(n))``, ``h = ceil(n / g)``): 4 cameras are shifted by a quarter
    pixel each way, which samples the scene at twice one camera's resolution. When ``n`` is
    not ``g h`` (8 of a 3 x 3 lattice), ``n`` lattice points are kept at evenly spaced places
    in raster order. One camera has offset 0.
    """
    rows = math.ceil(math.sqrt(cameras))
    cols = math.ceil(cameras / rows)
    y = (torch.arange(rows) + 0.5) / rows - 0.5
    x = (torch.arange(cols) + 0.5) / cols - 0.5
    lattice = torch.stack(torch.meshgrid(y, x, indexing="ij"), dim=-1).reshape(-1, 2)
    return lattice[torch.arange(cameras) * len(lattice) // cameras]


def random_offsets(cameras: int, offset_range: float, seed: int) -> torch.Tensor:
    """``(n, 2)`` offsets drawn uniformly in ``[-offset_range, offset_range]`` camera pixels."""
    generator = torch.Generator().manual_seed(seed)
    return (2 * torch.rand(cameras, 2, generator=generator) - 1) * offset_range


class Cameras(PhysicalLayer):
    """``cameras`` low-resolution cameras, each sampling the scene on its own shifted grid.

    Forward model, for a scene ``x_c`` (relative irradiance, constant over each of its
    ``H x W`` pixels, dark outside them) and camera ``n`` with ``P x P`` pixels
    (``P = camera_pixels``) of pitch ``p = H / P`` by ``q = W / P`` scene pixels, its grid
    shifted by ``(dy_n, dx_n)`` camera pixels:

        y_{n,c}(a, b) = 1 / (p q) * integral of (h * x_c) over
                        [(a + dy_n) p, (a + 1 + dy_n) p] x [(b + dx_n) q, (b + 1 + dx_n) q]

    each pixel the mean irradiance over its area (unitless, as the scene's), ``h`` the
    Gaussian PSF of camera n's lens (``camera_sigma`` scene pixels, one for every camera or a
    list of one per camera; 0: none). The
    cameras look at a distant, flat scene, so what tells them apart is where their pixel
    grids fall on it: their sub-pixel offsets. The measurement stacks the cameras as
    channels, ``(n C, P, P)``, camera by camera; ``render=true`` instead paints them back over
    the scene's pixels (``to_scene``'s shift-and-add, ``(C, H, W)``), so that a network reads
    where each camera's pixels lay, as ``pixel_layout`` does for its pixels.

    ``offsets``: ``grid`` (spread evenly over one camera pixel, see ``grid_offsets``) or
    ``random`` (uniform in ``[-offset_range, offset_range]``, drawn with ``offset_seed``).
    ``learnable=true`` learns the offsets from there: the integral is piecewise linear in
    them, so the gradient says which way to move each grid; they are kept within
    ``offset_range`` camera pixels (``Bounded``). With one camera at offset 0 and
    ``camera_pixels`` equal to the scene's size, the layer is the identity. ``init``:
    ``classical``, the ``offsets`` above (the grid by default), for learned offsets and fixed
    ones alike.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        cameras: Annotated[int, Range(1, 64)] = 4,
        camera_pixels: Annotated[int, Range(1, 4096)] = 7,
        offsets: Literal["grid", "random"] = "grid",
        offset_range: Annotated[float, Range(0, 8)] = 0.5,
        offset_seed: int = 0,
        camera_sigma: Annotated[float, Range(0, 20)] | list[Annotated[float, Range(0, 20)]] = 0.0,
        render: bool = False,
        init: Literal["classical"] = "classical",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        self.require_pixels("camera_pixels", camera_pixels)
        self.cameras, self.camera_pixels, self.render = cameras, camera_pixels, render
        if offsets == "grid":
            start = grid_offsets(cameras).clamp(-offset_range, offset_range)
        else:
            start = random_offsets(cameras, offset_range, offset_seed)
        self.offsets = PhysicalParameter(start, Bounded(-offset_range, offset_range), learnable)
        self.register_buffer("lenses", self.lens_psfs(camera_sigma), persistent=False)

    def lens_psfs(self, sigma: float | list[float]) -> torch.Tensor:
        """``(1 or n, k, k)``: one Gaussian PSF for every camera, or one per camera, on one
        kernel size (the widest's)."""
        sigmas = [float(sigma)] if isinstance(sigma, (int, float)) else [float(s) for s in sigma]
        if len(sigmas) not in (1, self.cameras):
            raise ValueError(
                f"camera_sigma has {len(sigmas)} values for {self.cameras} cameras; give one "
                "value, or one per camera"
            )
        size = psfs.kernel_size(3 * max(sigmas))
        return torch.stack([psfs.gaussian(s, size) for s in sigmas]).float()

    @property
    def out_shape(self) -> tuple[int, int, int]:
        if self.render:
            return self.in_shape
        return (self.cameras * self.in_shape[0], self.camera_pixels, self.camera_pixels)

    def edges(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each camera's pixel boundaries in scene pixels, ``(n, P + 1)`` along rows and along
        columns."""
        _, height, width = self.in_shape
        k = torch.arange(self.camera_pixels + 1, device=self.lenses.device, dtype=torch.float32)
        offsets = self.offsets()
        rows = (k + offsets[:, :1]) * (height / self.camera_pixels)
        cols = (k + offsets[:, 1:]) * (width / self.camera_pixels)
        return rows, cols

    def coverage(self) -> tuple[torch.Tensor, torch.Tensor]:
        """How much of each scene row (column) each camera row (column) covers, ``(n, P, H)``
        and ``(n, P, W)``, in scene pixels."""
        rows, cols = self.edges()
        return interval_overlaps(rows, self.in_shape[1]), interval_overlaps(cols, self.in_shape[2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Each camera's lens blurs the scene, dark outside its borders: (B, 1 or n, C, H, W).
        seen = torch.stack([psfs.convolve(x, lens, "zeros") for lens in self.lenses], dim=1)
        along_rows, along_cols = self.coverage()
        area = (self.in_shape[1] / self.camera_pixels) * (self.in_shape[2] / self.camera_pixels)
        seen = seen.expand(-1, self.cameras, -1, -1, -1)
        y = torch.einsum("npi,bncij,nqj->bncpq", along_rows.to(x), seen, along_cols.to(x)) / area
        y = y.flatten(1, 2)
        return self.shift_and_add(y, (along_rows, along_cols)) if self.render else y

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """Shift-and-add (see ``shift_and_add``), or ``y`` itself when it is rendered already."""
        return y if self.render else self.shift_and_add(y)

    def shift_and_add(
        self, y: torch.Tensor, coverage: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Each camera's pixels painted back over the scene pixels they cover, averaged where
        several cameras cover a pixel (weighted by the covered area): ``(B, n C, P, P)`` ->
        ``(B, C, H, W)``; ``coverage``: the layer's, when the caller has it already."""
        along_rows, along_cols = (c.to(y) for c in coverage or self.coverage())
        y = y.unflatten(1, (self.cameras, self.in_shape[0]))
        painted = torch.einsum("npi,bncpq,nqj->bcij", along_rows, y, along_cols)
        weight = torch.einsum("npi,nqj->ij", along_rows, along_cols)
        return painted / weight.clamp_min(1e-12)

    def grids(self) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
        rows, cols = self.edges()
        return {"camera_grids": [(r.detach(), c.detach()) for r, c in zip(rows, cols, strict=True)]}

    def maps(self) -> dict[str, torch.Tensor]:
        return {"camera_offsets": self.offsets.design().detach()}  # (n, 2), pixels

    def extra_repr(self) -> str:
        p = self.camera_pixels
        return f"{self.cameras} cameras of {p}x{p} pixels, learnable={self.learnable}"
