"""Optics from first principles: the diffraction PSF of a circular pupil with aberrations."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Odd, Range
from deepimg.physics import psf as psfs
from deepimg.physics import zernike
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Bounded
from deepimg.physics.parameter import PhysicalParameter
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
# The row of ``zernike_basis`` that holds Z_4: depth moves the focus.
DEFOCUS_ROW = list(ABERRATIONS).index("defocus")


def pupil_grid(samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Polar coordinates ``(rho, theta)`` of a ``samples`` x ``samples`` grid over the pupil.

    Sample centres sit symmetrically about the pupil's centre, ``samples`` of them across
    its diameter, so the grid (and any PSF without odd aberrations) keeps the pupil's
    mirror symmetries. Rows are y, columns x; ``rho = 1`` is the pupil's edge.
    """
    u = (torch.arange(samples, dtype=torch.float64) - (samples - 1) / 2) / (samples / 2)
    v, u = torch.meshgrid(u, u, indexing="ij")
    return torch.hypot(u, v), torch.atan2(v, u)


def fourier_matrix(size: int, samples: int, q: float, oversample: int = 1) -> torch.Tensor:
    """The DFT from ``samples`` pupil points to ``oversample`` points per pixel across the
    ``size`` central pixels of the PSF plane.

    Entry ``(x, u)`` is ``exp(-i pi u x / q)``, ``u`` the normalised pupil coordinate and
    ``x`` the offset from the centre in pixels, ``q`` the pixels per lambda / (2 NA), and the
    points sit at the centres of ``oversample`` equal parts of each pixel (an odd
    ``oversample`` keeps one at each pixel's centre). Evaluating only the points we keep (a
    "matrix Fourier transform") gives the values of a zero-padded FFT without padding, and
    ``q`` need not make that an integer.
    """
    u = (torch.arange(samples, dtype=torch.float64) - (samples - 1) / 2) / (samples / 2)
    points = size * oversample
    x = (torch.arange(points, dtype=torch.float64) - (points - 1) / 2) / oversample
    return torch.exp(-1j * math.pi * torch.outer(x, u) / q)


# Samples per cycle of the cut-off frequency: 2 is Nyquist (the least that represents the PSF);
# summing samples over a pixel (the midpoint rule) is within ~1% of the PSF's peak from 6 on.
NYQUIST, INTEGRATION = 2.0, 6.0
# Waves RMS of seeded jitter on each coefficient for init=perturbed (Marechal: 0.07 in total).
PERTURBATION = 0.01


def odd_oversample(q: float, samples_per_cycle: float) -> int:
    """The smallest odd number ``s`` of PSF samples per pixel side with ``q s`` at least
    ``samples_per_cycle`` (the incoherent cut-off ``2 NA / lambda`` is ``1 / q`` cycles per
    pixel, so ``1 / (q s)`` cycles per sample)."""
    needed = max(1, math.ceil(samples_per_cycle / q - 1e-9))
    return needed if needed % 2 else needed + 1


class Pupil(PhysicalLayer):
    """Blur by the diffraction PSF of a circular pupil with Zernike aberrations.

    Forward model, on normalised pupil coordinates ``(u, v)`` (``rho = 1`` at the edge) and
    pixel coordinates ``(x, y)`` in the image, for incoherent light of wavelength lambda:

        W(u, v) = sum_j a_j Z_j(u, v)                              wavefront, waves
        P(u, v) = circ(rho <= 1) exp(i 2 pi W(u, v))                pupil function
        E(x, y) = sum_{u,v} P(u, v) exp(-i pi (u x + v y) / q)      coherent field
        h(x, y) = |E(x, y)|^2, cropped to psf_size x psf_size and normalised to sum 1
        y       = h * x                                             each channel

    A point at depth ``z`` (depth units: whatever the task's depth map is in) sees the
    wavefront with extra defocus, ``psf_at`` gives its PSF ``h_z`` the same way:

        W_z(u, v) = W(u, v) + defocus_per_depth (z - focus_depth) Z_4(u, v)    waves

    ``defocus_per_depth`` in waves RMS per depth unit, ``focus_depth`` in depth units; ``z =
    focus_depth`` gives ``h`` itself. ``layered`` images a scene with a depth map through these
    PSFs, plane by plane (the layered model, without occlusion). ``forward`` ignores depth.

    The ``a_j`` are in waves RMS (the Zernike terms are orthonormal, see zernike.py), named
    ``defocus``, ``astigmatism`` (0/90 degrees), ``astigmatism_oblique`` (+-45 degrees),
    ``coma`` (along x), ``coma_vertical`` (along y) and ``spherical``; 0.07 waves RMS in
    total is Marechal's diffraction-limited threshold (Strehl ratio 0.8).

    ``pupil_phase``: ``zernike`` (the wavefront is the six coefficients above) or ``free``
    (the wavefront is any map ``W(u, v)`` over the pupil samples, starting from those
    coefficients' wavefront): a free-form lens, whose shape ``learnable=true`` designs with
    the network, as in the end-to-end optics of Sitzmann et al. (2018, "End-to-end
    optimization of optics and image processing for achromatic extended depth of field and
    super-resolution imaging"), here for any task. ``pupil_amplitude=true`` adds an
    amplitude mask ``A(u, v)`` in [0, 1] over the aperture, ``P = A circ exp(i 2 pi W)``
    (learned too when ``learnable``); the PSF is still normalised to sum 1, so the light the
    mask stops is not counted against it (pair it with ``noise`` for a photon budget).

    Sampling, stated and checked. ``q = airy_radius / 1.2197`` pixels per lambda / (2 NA):
    one pixel is 0.61 lambda / NA / airy_radius wide and the Airy pattern's first dark ring
    lies ``airy_radius`` pixels from its centre. The PSF has no frequency above the incoherent
    cut-off ``2 NA / lambda = 1 / q`` cycles per pixel, so samples ``1 / s`` pixel apart
    represent it exactly when ``1 / q <= s / 2`` (Nyquist), i.e. ``q s >= 2``. It is computed
    at ``s = psf_oversample`` points per pixel side (odd, so one sits at each pixel's centre)
    and each pixel's samples are summed: the pixel integrates the light that falls on it. A
    ``psf_oversample`` below Nyquist is refused. Summing samples is the midpoint rule, whose
    error falls as ``1 / (q s)^2``; null chooses the smallest odd ``s`` with ``q s >= 6``, where
    it is within about 1% of the PSF's peak (measured against the Airy pattern integrated on
    21 x 21 points a pixel: 1.4% at airy_radius 1, 0.5% at 2, 0.7% at 3). ``psf_oversample=1``
    samples the PSF at the pixels' centres, allowed from ``airy_radius >= 2.44``. The pupil is drawn with ``pupil_samples`` points across (raised if needed so the
    PSF's period, ``q * pupil_samples`` pixels, is at least twice ``psf_size``).

    ``learnable=true`` learns the design: the six coefficients (``zernike``) or the phase map
    (``free``), and the amplitude mask if there is one; every wavefront gives a physical PSF,
    so nothing needs projecting but the amplitude, clipped to [0, 1]. ``init`` is where it
    starts, and the design of the fixed layer built from the same keys:

    - ``classical``: the wavefront of the six coefficients (all 0 by default: a focused,
      diffraction-limited lens, as Sitzmann et al. start) and a clear aperture;
    - ``perturbed``: the same plus seeded N(0, 0.01^2) waves on each coefficient
      (``pupil_seed``), far below Marechal's 0.07. An even part of the wavefront (defocus,
      astigmatism, spherical) has zero gradient while it is exactly 0: ``W`` and its mirror
      ``-W(-u, -v)`` give the same PSF, and that mirror flips only the sign of the even
      terms; so from an unperturbed focused lens only the odd terms (coma) learn. The
      perturbation breaks the tie.
    """

    @checked_arguments
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
        psf_oversample: Annotated[int, Range(1, 15), Odd()] | None = None,
        pupil_phase: Literal["zernike", "free"] = "zernike",
        pupil_amplitude: bool = False,
        pad_mode: PadMode = "reflect",
        init: Literal["classical", "perturbed"] = "classical",
        pupil_seed: int = 0,
        learnable: bool = False,
        defocus_per_depth: Annotated[float, Range(0, 10)] = 0.15,
        focus_depth: Annotated[float, Range(-100, 100)] = 0.0,
    ) -> None:
        super().__init__(in_shape)
        self.init = init
        self.defocus_per_depth, self.focus_depth = defocus_per_depth, focus_depth
        self.airy_radius, self.psf_size, self.pad_mode = airy_radius, psf_size, pad_mode
        q = airy_radius / AIRY_FIRST_ZERO
        if psf_oversample is not None and q * psf_oversample < NYQUIST:
            raise ValueError(
                f"psf_oversample={psf_oversample} samples the PSF below Nyquist at "
                f"airy_radius={airy_radius:g} (the cut-off is {1 / q:.3g} cycles per pixel): "
                f"use psf_oversample >= {odd_oversample(q, NYQUIST)}, or null to choose it"
            )
        self.psf_oversample = psf_oversample or odd_oversample(q, INTEGRATION)
        # A sampled pupil makes the PSF periodic, with period q * samples pixels: keep the
        # neighbouring copies at least two crops away.
        self.pupil_samples = max(pupil_samples, math.ceil(2 * psf_size / q))
        rho, theta = pupil_grid(self.pupil_samples)
        aperture = (rho <= 1).double()
        basis = torch.stack([zernike.noll(j, rho, theta) for j in ABERRATIONS.values()])
        # Derived from the arguments above, so rebuilt rather than saved (persistent=False).
        self.register_buffer("aperture", aperture.float(), persistent=False)
        self.register_buffer("zernike_basis", (basis * aperture).float(), persistent=False)
        dft = fourier_matrix(psf_size, self.pupil_samples, q, self.psf_oversample)
        self.register_buffer("dft", dft.cfloat(), persistent=False)
        coefficients = torch.tensor(
            [defocus, astigmatism, astigmatism_oblique, coma, coma_vertical, spherical]
        )
        if init == "perturbed":  # off the symmetric saddle of a perfect lens, by a hair
            generator = torch.Generator().manual_seed(pupil_seed)
            coefficients = coefficients + PERTURBATION * torch.randn(6, generator=generator)
        self.pupil_phase = pupil_phase
        if pupil_phase == "zernike":
            self.aberrations = PhysicalParameter(coefficients, learnable=learnable)
        else:
            start = torch.einsum("j,jhw->hw", coefficients, self.zernike_basis)
            self.phase = PhysicalParameter(start, learnable=learnable)  # waves
        if pupil_amplitude:
            self.amplitude = PhysicalParameter(self.aperture, Bounded(0.0, 1.0), learnable)

    @property
    def wavefront(self) -> torch.Tensor:
        """W(u, v) in waves over the pupil grid, 0 outside the pupil."""
        if self.pupil_phase == "free":
            return self.phase() * self.aperture
        return torch.einsum("j,jhw->hw", self.aberrations(), self.zernike_basis)

    @property
    def transmission(self) -> torch.Tensor:
        """|P(u, v)|: the clear aperture, times the amplitude mask if there is one."""
        if "amplitude" in self._modules:
            return self.amplitude() * self.aperture
        return self.aperture

    @property
    def pupil_function(self) -> torch.Tensor:
        """P = A circ exp(i 2 pi W), complex ``(samples, samples)``."""
        return self.pupil_of(self.wavefront)

    def pupil_of(self, wavefront: torch.Tensor) -> torch.Tensor:
        """P for any wavefront(s) ``(..., samples, samples)`` in waves, with this transmission."""
        return torch.polar(self.transmission.expand_as(wavefront), 2 * math.pi * wavefront)

    def intensity(self, wavefront: torch.Tensor | None = None) -> torch.Tensor:
        """|E|^2 at ``psf_oversample`` points per pixel side over the ``psf_size`` x
        ``psf_size`` pixels around the axis, unnormalised: for the current wavefront, or for
        each of a stack of wavefronts ``(..., samples, samples)`` (one batched matmul)."""
        pupil = self.pupil_function if wavefront is None else self.pupil_of(wavefront)
        dft = self.dft.to(pupil.dtype)
        field = dft @ pupil @ dft.T  # rows of the PSF from pupil rows (v), columns from u
        return field.real**2 + field.imag**2  # |E|^2 without abs(), whose gradient fails at 0

    def pixel_psf(self, wavefront: torch.Tensor | None = None) -> torch.Tensor:
        """The PSF ``(..., psf_size, psf_size)`` of the current wavefront or of each given one:
        each pixel's samples summed (the light it collects), each PSF normalised to sum 1."""
        s, k = self.psf_oversample, self.psf_size
        h = self.intensity(wavefront)
        h = h.view(*h.shape[:-2], k, s, k, s).sum(dim=(-3, -1))
        return h / h.sum(dim=(-2, -1), keepdim=True)

    @property
    def psf(self) -> torch.Tensor:
        """The current PSF ``(psf_size, psf_size)``: the light on each pixel, unit sum."""
        return self.pixel_psf()

    def psf_at(self, depths: torch.Tensor) -> torch.Tensor:
        """The PSFs ``(L, psf_size, psf_size)`` of points at ``depths`` ``(L,)`` (depth units):
        the current wavefront plus ``defocus_per_depth (z - focus_depth)`` waves RMS of Z_4,
        each normalised to sum 1. Differentiable in the design (and in ``depths``)."""
        wavefront = self.wavefront
        waves = self.defocus_per_depth * (depths.to(wavefront) - self.focus_depth)
        defocus = self.zernike_basis[DEFOCUS_ROW]  # Z_4 on the pupil grid, 0 outside it
        return self.pixel_psf(wavefront + waves.view(-1, 1, 1) * defocus)

    def layered(self, x: torch.Tensor, depth: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
        """The sensor's image ``(B, C, H, W)`` of a scene ``x`` ``(B, C, H, W)`` whose pixels lie
        at ``depth`` ``(B, 1, H, W)`` (depth units), through the PSFs of the depth ``planes``
        ``(L,)``: each pixel goes to its nearest plane (a tie to the first in ``planes``) and

            y = sum_l h_{z_l} * (x 1[pixel on plane l])     (* as in forward, with pad_mode)

        This is the layered model WITHOUT occlusion: the light from each plane is blurred by
        that plane's PSF and the planes are summed, so an edge between planes is a blend of
        both blurs, not an occluding boundary (a near object does not hide what lies behind
        it). A scene all on one plane gives ``forward`` with that plane's PSF. The assignment
        is hard: gradients reach ``x`` and the design, not ``depth``.
        """
        check_layered_shapes(x, depth, planes)
        batch, channels, height, width = x.shape
        nearest = (depth.unsqueeze(-1) - planes.to(depth).view(-1)).abs().argmin(dim=-1)
        on_plane = torch.nn.functional.one_hot(nearest.squeeze(1), planes.numel())
        on_plane = on_plane.permute(0, 3, 1, 2).unsqueeze(2).to(x.dtype)  # (B, L, 1, H, W)
        layers = (x.unsqueeze(1) * on_plane).reshape(batch, -1, height, width)
        # One grouped convolution: channel (l, c) of the layers by the PSF of plane l.
        kernels = self.psf_at(planes).repeat_interleave(channels, dim=0)  # (L C, k, k)
        blurred = psfs.convolve(layers, kernels, self.pad_mode)
        return blurred.view(batch, -1, channels, height, width).sum(dim=1)

    @property
    def strehl_ratio(self) -> torch.Tensor:
        """On-axis intensity relative to the perfect lens's, |mean of exp(i 2 pi W)|^2."""
        pupil = self.pupil_function
        return pupil.sum().abs() ** 2 / self.aperture.sum() ** 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return psfs.convolve(x, self.psf, self.pad_mode)

    def maps(self) -> dict[str, torch.Tensor]:
        maps = {"psf": self.psf.detach(), "wavefront": self.wavefront.detach()}
        if self.pupil_phase == "zernike":
            maps["zernike_waves"] = self.aberrations().detach()  # in the order of ABERRATIONS
        if "amplitude" in self._modules:
            maps["pupil_amplitude"] = self.transmission.detach()
        return maps

    def extra_repr(self) -> str:
        if self.pupil_phase == "free":
            rms = self.wavefront[self.aperture > 0].std().item()
            phase = f"free phase ({rms:.3g} waves RMS)"
        else:
            named = ", ".join(
                f"{name}={a:.3g}"
                for name, a in zip(ABERRATIONS, self.aberrations().tolist(), strict=True)
                if a != 0
            )
            phase = f"aberrations (waves RMS): {named or 'none'}"
        mask = ", amplitude mask" if "amplitude" in self._modules else ""
        return (
            f"{phase}{mask}, airy_radius={self.airy_radius:g} px, "
            f"pupil {self.pupil_samples} samples, psf {self.psf_size}x{self.psf_size} "
            f"({self.psf_oversample}x{self.psf_oversample} samples a pixel), "
            f"pad_mode={self.pad_mode}, learnable={self.learnable}"
        )


def check_layered_shapes(x: torch.Tensor, depth: torch.Tensor, planes: torch.Tensor) -> None:
    """Refuse, in one line, a depth map that does not match the scene or planes not a 1-D list."""
    if x.dim() != 4 or depth.shape != (x.shape[0], 1, *x.shape[2:]):
        raise ValueError(
            f"layered needs a scene (B, C, H, W) and a depth map (B, 1, H, W) of the same B, H, "
            f"W; got {tuple(x.shape)} and {tuple(depth.shape)}"
        )
    if planes.dim() != 1 or planes.numel() == 0:
        raise ValueError(
            f"layered needs the depth planes as a 1-D tensor (L,), got {tuple(planes.shape)}"
        )
