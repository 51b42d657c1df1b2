"""Optics: blur by a point-spread function, fixed (Gaussian, defocus disk, motion, measured) or learned."""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Odd, Range
from deepimg.physics import psf as psfs
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Simplex
from deepimg.physics.parameter import PhysicalParameter
from deepimg.physics.psf import PadMode


class Blur(PhysicalLayer):
    """Shift-invariant blur of each channel by one PSF ``h``.

    Forward model, on relative irradiance ``x`` (unitless) and pixel coordinates:

        y(i, j) = sum_{k,l} h(k, l) x(i - k, j - l),    h >= 0,  sum h = 1

    so blur redistributes light and keeps its total. ``sigma``, ``radius`` and ``length``
    are in pixels, ``angle`` in degrees. Borders are extended by ``pad_mode``.
    ``learnable=true`` trains a free-form PSF initialised from the chosen one, kept
    non-negative with unit sum (a ``Simplex``: a softmax over its latent logits). ``init``:
    ``classical``, the configured PSF (``psf`` and its size), learned or fixed; a learned PSF
    starts within 1e-4 of its peak of it (the ``Simplex`` floor keeps every pixel reachable).
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        psf: Literal["gaussian", "disk", "motion", "file"] = "gaussian",
        sigma: Annotated[float, Range(0, 20)] = 1.0,
        radius: Annotated[float, Range(0, 20)] = 2.0,
        length: Annotated[float, Range(0, 40)] = 5.0,
        angle: float = 0.0,
        psf_file: str | None = None,
        psf_size: Annotated[int, Range(1, 63), Odd()] | None = None,
        pad_mode: PadMode = "reflect",
        init: Literal["classical"] = "classical",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        kernels = {
            "gaussian": lambda: psfs.gaussian(sigma, psf_size),
            "disk": lambda: psfs.disk(radius, psf_size),
            "motion": lambda: psfs.motion(length, angle, psf_size),
            "file": lambda: psfs.from_file(psf_file or ""),
        }
        self.pad_mode = pad_mode
        self.psf = PhysicalParameter(kernels[psf]().float(), Simplex(dims=2), learnable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return psfs.convolve(x, self.psf(), self.pad_mode)

    def maps(self) -> dict[str, torch.Tensor]:
        return {"psf": self.psf.design().detach()}

    def extra_repr(self) -> str:
        return (
            f"psf {tuple(self.psf().shape)}, pad_mode={self.pad_mode}, learnable={self.learnable}"
        )
