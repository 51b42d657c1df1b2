"""Optics from first principles: the diffraction PSF of a circular pupil with aberrations."""

from __future__ import annotations

import math
from typing import Annotated

import torch

from deepimg.config.constraints import Odd, Range
from deepimg.physics import psf as psfs
from deepimg.physics import zernike
from deepimg.physics.base import PhysicalLayer, PhysicalParameter
from deepimg.physics.psf import PadMode

# The aberrations a user sets by name, and their Noll index (deepimg/physics/zernike.py).
ABERRATIONS: dict[str, int] = {
    "defocus": 4,  # Z(2, 0)
    "astigmatism": 6,  # Z(2, 2): focal lines along x and y
    "astigmatism_oblique": 5,  # Z(2, -2): focal lines at +-45 degrees
    "coma": 8,  # Z(3, 1): comet tail along x
    "coma_vertical": 7,  # Z(3, -1): comet tail along y
    "spherical": 11,  # Z(4, 0)
}

# Radius of the Airy pattern's first dark ring in units of lambda / (2 NA): j_1,1 / pi,
# with j_1,1 the first zero of the Bessel function J1 (the familiar 0.61 lambda / NA).
AIRY_FIRST_ZERO = 3.8317059702075125 / math.pi

Waves = Annotated[float, Range(-1, 1)]


def pupil_grid(samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Polar coordinates ``(rho, theta)`` of a ``samples`` x ``samples`` grid over the pupil.

    Sample centres sit symmetrically about the pupil's centre, ``samples`` of them across
    its diameter, so the grid (and any PSF without odd aberrations) keeps the pupil's
    mirror symmetries. Rows are y, columns x; ``rho = 1`` is the pupil's edge.
    """
    u = (torch.arange(samples, dtype=torch.float64) - (samples - 1) / 2) / (samples / 2)
    v, u = torch.meshgrid(u, u, indexing="ij")
    return torch.hypot(u, v), torch.atan2(v, u)


def fourier_matrix(size: int, samples: int, q: float) -> torch.Tensor:
    """The DFT from ``samples`` pupil points to the ``size`` central pixels of the PSF plane.

    Entry ``(x, u)`` is ``exp(-i pi u x / q)``, ``u`` the normalised pupil coordinate and
    ``x`` the pixel offset from the centre, ``q`` the pixels per lambda / (2 NA). Evaluating
    only the pixels we keep (a "matrix Fourier transform") gives the values of a zero-padded
    FFT of ``q * samples`` points without padding, and ``q`` need not make that an integer.
    """
    u = (torch.arange(samples, dtype=torch.float64) - (samples - 1) / 2) / (samples / 2)
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    return torch.exp(-1j * math.pi * torch.outer(x, u) / q)


class Pupil(PhysicalLayer):
    """Blur by the diffraction PSF of a circular pupil with Zernike aberrations.

    Forward model, on normalised pupil coordinates ``(u, v)`` (``rho = 1`` at the edge) and
    pixel coordinates ``(x, y)`` in the image, for incoherent light of wavelength lambda:

        W(u, v) = sum_j a_j Z_j(u, v)                              wavefront, waves
        P(u, v) = circ(rho <= 1) exp(i 2 pi W(u, v))                pupil function
        E(x, y) = sum_{u,v} P(u, v) exp(-i pi (u x + v y) / q)      coherent field
        h(x, y) = |E(x, y)|^2, cropped to psf_size x psf_size and normalised to sum 1
        y       = h * x                                             each channel

    The ``a_j`` are in waves RMS (the Zernike terms are orthonormal, see zernike.py), named
    ``defocus``, ``astigmatism`` (0/90 degrees), ``astigmatism_oblique`` (+-45 degrees),
    ``coma`` (along x), ``coma_vertical`` (along y) and ``spherical``; 0.07 waves RMS in
    total is Marechal's diffraction-limited threshold (Strehl ratio 0.8).

    Sampling: ``q = airy_radius / 1.2197`` pixels per lambda / (2 NA), i.e. one pixel is
    0.61 lambda / NA / airy_radius wide and the Airy pattern's first dark ring lies
    ``airy_radius`` pixels from its centre. The sensor samples the incoherent cut-off
    2 NA / lambda at Nyquist when ``airy_radius >= 2.44``; below it the pixels, not the
    optics, limit resolution. The PSF is sampled at pixel centres (no pixel integration).

    ``learnable=true`` makes the six coefficients parameters: every value gives a physical
    PSF, so nothing needs projecting. Even aberrations (defocus, astigmatism, spherical)
    have zero gradient at a perfect lens, since +a and -a give the same PSF: start them
    away from 0 when learning them.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        defocus: Waves = 0.0,
        astigmatism: Waves = 0.0,
        astigmatism_oblique: Waves = 0.0,
        coma: Waves = 0.0,
        coma_vertical: Waves = 0.0,
        spherical: Waves = 0.0,
        airy_radius: Annotated[float, Range(0.5, 20)] = 2.0,
        pupil_samples: Annotated[int, Range(16, 512)] = 64,
        psf_size: Annotated[int, Range(1, 63), Odd()] = 15,
        pad_mode: PadMode = "reflect",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        self.airy_radius, self.psf_size = airy_radius, psf_size
        self.pad_mode = pad_mode
        q = airy_radius / AIRY_FIRST_ZERO
        # A sampled pupil makes the PSF periodic, with period q * samples pixels: keep the
        # neighbouring copies at least two crops away.
        self.pupil_samples = max(pupil_samples, math.ceil(2 * psf_size / q))
        rho, theta = pupil_grid(self.pupil_samples)
        aperture = (rho <= 1).double()
        basis = torch.stack([zernike.noll(j, rho, theta) for j in ABERRATIONS.values()])
        # Derived from the arguments above, so rebuilt rather than saved (persistent=False).
        self.register_buffer("aperture", aperture.float(), persistent=False)
        self.register_buffer("zernike_basis", (basis * aperture).float(), persistent=False)
        self.register_buffer(
            "dft", fourier_matrix(psf_size, self.pupil_samples, q).cfloat(), persistent=False
        )
        coefficients = torch.tensor(
            [defocus, astigmatism, astigmatism_oblique, coma, coma_vertical, spherical]
        )
        self.aberrations = PhysicalParameter(coefficients, learnable=learnable)

    @property
    def wavefront(self) -> torch.Tensor:
        """W(u, v) in waves over the pupil grid, 0 outside the pupil."""
        return torch.einsum("j,jhw->hw", self.aberrations, self.zernike_basis)

    @property
    def pupil_function(self) -> torch.Tensor:
        """P = circ * exp(i 2 pi W), complex ``(samples, samples)``."""
        return torch.polar(self.aperture, 2 * math.pi * self.wavefront)

    def intensity(self) -> torch.Tensor:
        """|E|^2 on the ``psf_size`` x ``psf_size`` pixels around the axis, unnormalised."""
        pupil = self.pupil_function
        dft = self.dft.to(pupil.dtype)
        field = dft @ pupil @ dft.T  # rows of the PSF from pupil rows (v), columns from u
        return field.real**2 + field.imag**2  # |E|^2 without abs(), whose gradient fails at 0

    @property
    def psf(self) -> torch.Tensor:
        """The current PSF ``(psf_size, psf_size)``: non-negative, unit sum."""
        h = self.intensity()
        return h / h.sum()

    @property
    def strehl_ratio(self) -> torch.Tensor:
        """On-axis intensity relative to the perfect lens's, |mean of exp(i 2 pi W)|^2."""
        pupil = self.pupil_function
        return pupil.sum().abs() ** 2 / self.aperture.sum() ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return psfs.convolve(x, self.psf, self.pad_mode)

    def maps(self) -> dict[str, torch.Tensor]:
        return {
            "psf": self.psf.detach(),
            "wavefront": self.wavefront.detach(),
            "zernike_waves": self.aberrations.detach(),  # in the order of ABERRATIONS
        }

    def extra_repr(self) -> str:
        named = ", ".join(
            f"{name}={a:.3g}"
            for name, a in zip(ABERRATIONS, self.aberrations.tolist(), strict=True)
            if a != 0
        )
        return (
            f"aberrations (waves RMS): {named or 'none'}, airy_radius={self.airy_radius:g} px, "
            f"pupil {self.pupil_samples} samples, psf {self.psf_size}x{self.psf_size}, "
            f"pad_mode={self.pad_mode}, learnable={self.learnable}"
        )
