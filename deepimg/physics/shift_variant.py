"""Optics whose blur changes across the field: sharp on axis, softer towards the corners."""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from torch import nn

from deepimg.config.constraints import Odd, Range
from deepimg.physics import psf as psfs
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Simplex
from deepimg.physics.parameter import PhysicalParameter
from deepimg.physics.psf import PadMode

Blend = Literal["tiled", "smooth"]


def grid_weights(length: int, cells: int, blend: Blend) -> torch.Tensor:
    """``(cells, length)`` weights of ``cells`` field positions along one axis of ``length``
    pixels: non-negative, summing to 1 at every pixel.

    ``tiled``: pixel ``i`` belongs wholly to cell ``floor(i * cells / length)``.
    ``smooth``: tent functions centred on the cells' centres, i.e. linear interpolation
    between neighbouring centres, and the nearest cell alone beyond the outermost centres.
    """
    i = torch.arange(length, dtype=torch.float64)
    if blend == "tiled":
        cell = torch.div(i * cells, length, rounding_mode="floor").long()
        return nn.functional.one_hot(cell, cells).T.double()
    pitch = length / cells
    # Position in units of the cell pitch, 0 at the first cell's centre, clamped to the grid.
    t = ((i + 0.5) / pitch - 0.5).clamp(0, cells - 1)
    return (1 - (t - torch.arange(cells, dtype=torch.float64)[:, None]).abs()).clamp_min(0)


class ShiftVariantBlur(PhysicalLayer):
    """Blur that varies across the field, by blending K PSFs with weight maps.

    Forward model, on relative irradiance ``x`` (unitless) and pixel coordinates:

        y = sum_k h_k * (w_k . x),     w_k(i, j) >= 0,  sum_k w_k(i, j) = 1,  sum h_k = 1

    (``*`` convolution, ``.`` pixelwise product). The K = psf_grid^2 PSFs ``h_k`` are the
    lens's responses at the centres of a ``psf_grid`` x ``psf_grid`` grid of field
    positions; the light of scene pixel (i, j) is spread by the PSFs of the grid cells it
    belongs to, in proportion ``w_k(i, j)``. The weights are a partition of unity, so the
    total light is kept (exactly with ``pad_mode=circular``) and K equal PSFs give the
    shift-invariant blur. ``psf_blend=tiled``: each pixel belongs to one tile (hard
    weights); ``smooth``: bilinear weights between the grid centres, with no seams.

    The PSFs are Gaussians whose standard deviation (pixels) grows with the square of the
    field height ``r`` (the distance of the grid centre from the image centre, 1 at the
    outermost grid centres), as defocus from field curvature does:

        sigma_k = sigma_center + (sigma_edge - sigma_center) * r_k^2

    (with psf_grid=2 every centre is outermost, so all four PSFs are alike until learned).
    ``learnable=true`` trains K free-form PSFs initialised from these, each kept
    non-negative with unit sum (a ``Simplex`` each); ``init``: ``classical``, these
    field-dependent Gaussians, learned or fixed.
    ``self.psfs()`` is ``(K, k, k)``, row by row over the grid.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        psf_grid: Annotated[int, Range(1, 8)] = 3,
        psf_blend: Blend = "smooth",
        sigma_center: Annotated[float, Range(0, 20)] = 0.5,
        sigma_edge: Annotated[float, Range(0, 20)] = 2.0,
        psf_size: Annotated[int, Range(1, 63), Odd()] | None = None,
        pad_mode: PadMode = "reflect",
        init: Literal["classical"] = "classical",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        _, height, width = self.in_shape
        if psf_grid > min(height, width):
            raise ValueError(
                f"psf_grid={psf_grid} is larger than the scene ({height}x{width}); "
                f"use at most {min(height, width)} PSFs per side"
            )
        self.psf_grid, self.psf_blend = psf_grid, psf_blend
        self.pad_mode = pad_mode
        self.sigmas = self.field_sigmas(sigma_center, sigma_edge)
        size = psf_size or psfs.kernel_size(3 * max(self.sigmas))
        kernels = torch.stack([psfs.gaussian(s, size) for s in self.sigmas]).float()
        wy, wx = grid_weights(height, psf_grid, psf_blend), grid_weights(width, psf_grid, psf_blend)
        # w_k(i, j) = wy_a(i) * wx_b(j) for k = (a, b): a product of partitions of unity is one.
        weights = torch.einsum("ah,bw->abhw", wy, wx).reshape(psf_grid**2, height, width)
        self.register_buffer("weights", weights.float(), persistent=False)
        self.psfs = PhysicalParameter(kernels, Simplex(dims=2), learnable)

    def field_sigmas(self, sigma_center: float, sigma_edge: float) -> list[float]:
        """Gaussian sigma (pixels) at each grid centre, row by row."""
        c = torch.arange(self.psf_grid, dtype=torch.float64) - (self.psf_grid - 1) / 2
        cy, cx = torch.meshgrid(c, c, indexing="ij")
        r2 = (cx**2 + cy**2).flatten()  # squared field height in grid pitches
        r2 = r2 / r2.max() if r2.max() > 0 else r2
        return (sigma_center + (sigma_edge - sigma_center) * r2).tolist()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        k = self.psf_grid**2
        # K weighted copies of the scene, blurred together by one grouped convolution with
        # K * C groups (copy k of every channel by h_k), then summed over k.
        weighted = (x.unsqueeze(1) * self.weights.to(x.dtype)[None, :, None]).flatten(1, 2)
        h = self.psfs().repeat_interleave(channels, dim=0)
        y = psfs.convolve(weighted, h, self.pad_mode)
        return y.view(batch, k, channels, height, width).sum(dim=1)

    def maps(self) -> dict[str, torch.Tensor]:
        """``psfs``: the PSFs tiled as on the field grid; ``weights``: the K weight maps."""
        h = self.psfs.design().detach()
        g, size = self.psf_grid, h.shape[-1]
        mosaic = h.view(g, g, size, size).permute(0, 2, 1, 3).reshape(g * size, g * size)
        return {"psfs": mosaic, "weights": self.weights}

    def extra_repr(self) -> str:
        return (
            f"{self.psf_grid}x{self.psf_grid} psfs {tuple(self.psfs().shape[1:])}, "
            f"sigma {min(self.sigmas):.3g}..{max(self.sigmas):.3g} px, blend={self.psf_blend}, "
            f"pad_mode={self.pad_mode}, learnable={self.learnable}"
        )
