"""Fluorescence through filters: which colours tell K fluorophores apart best?

The emission peaks are the published maxima of Jackson ImmunoResearch's table of
fluorophores conjugated to antibodies ("Approximate peak wavelengths", Table 1,
jacksonimmuno.com/technical/f-cy3-5.asp) for the dyes, of FPbase (its repository's
``_data/FPs.csv``, tlambert03/FPbase) for the fluorescent proteins, and 461 nm for DAPI
bound to DNA. The widths are not published as such: they are the full widths at half
maximum measured from the full emission spectra in FPbase's repository (``_data/FLUOR.csv``
and ``_data/FPs.csv``) and MicronOxford/SpekCheck (``data/dyes/Cy5.csv``), and each
spectrum is modelled as one Gaussian with that width (real emission peaks are lopsided,
with a longer tail towards the red). For measured curves, give ``spectra_file``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Bounded
from deepimg.physics.noise import Noise
from deepimg.physics.parameter import PhysicalParameter
from deepimg.physics.spectral import mix_channels, unmix_channels

# name -> (emission peak, FWHM of the emission peak), both in nm; see the module's sources.
DYES: dict[str, tuple[float, float]] = {
    "DAPI": (461.0, 96.6),
    "EGFP": (507.0, 31.6),
    "AF488": (519.0, 40.3),  # Alexa Fluor 488
    "FITC": (520.0, 40.6),
    "EYFP": (527.0, 30.3),
    "AF555": (568.0, 33.2),  # Alexa Fluor 555
    "TRITC": (570.0, 38.9),
    "mCherry": (610.0, 56.5),
    "AF594": (616.0, 47.9),  # Alexa Fluor 594
    "TexasRed": (620.0, 38.9),
    "AF647": (667.0, 34.6),  # Alexa Fluor 647
    "Cy5": (670.0, 36.8),
}
FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))
EDGE_NM = 2.0  # the width of a bandpass filter's edges (a logistic's scale), nm
MIN_WIDTH_NM = 5.0  # the narrowest bandpass a learned filter may become


def wavelengths(low: float, high: float, step: float) -> torch.Tensor:
    """The wavelength grid, nm: ``low, low + step, ...`` up to ``high``."""
    return torch.arange(low, high + step / 2, step, dtype=torch.float64)


def gaussian_spectra(names: list[str], grid: torch.Tensor) -> torch.Tensor:
    """``(K, L)`` emission spectra of the named dyes on ``grid``, each summing to 1."""
    unknown = [n for n in names if n not in DYES]
    if unknown:
        raise ValueError(
            f"fluorophores {unknown} are not in the built-in table; choose from "
            f"{', '.join(DYES)}, or give spectra_file=FILE.csv"
        )
    peaks = torch.tensor([DYES[n][0] for n in names], dtype=torch.float64)[:, None]
    sigmas = (
        torch.tensor([DYES[n][1] for n in names], dtype=torch.float64)[:, None] / FWHM_PER_SIGMA
    )
    spectra = torch.exp(-0.5 * ((grid - peaks) / sigmas) ** 2)
    return spectra / spectra.sum(dim=1, keepdim=True)


def spectra_from_file(
    path: str, names: list[str] | None, grid: torch.Tensor
) -> tuple[list[str], torch.Tensor]:
    """Emission spectra from a CSV file: a column ``wavelength_nm`` and one column per
    fluorophore (any scale), interpolated linearly onto ``grid`` (0 outside the file's range)
    and normalised to sum 1. ``names`` picks columns (null: all, in the file's order)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"spectra_file '{path}' does not exist")
    try:
        with file.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error):
        raise ValueError(f"spectra_file '{path}' is not a CSV text file") from None
    columns = [c for c in (rows[0] if rows else {}) if c != "wavelength_nm"]
    if not rows or "wavelength_nm" not in rows[0] or not columns:
        raise ValueError(
            f"spectra_file '{path}' needs a header 'wavelength_nm,<fluorophore>,...' and rows"
        )
    chosen = names or columns
    missing = [n for n in chosen if n not in columns]
    if missing:
        raise ValueError(f"spectra_file '{path}' has no column {missing}; it has {columns}")
    try:
        table = np.array(
            [[float(r["wavelength_nm"])] + [float(r[n]) for n in chosen] for r in rows]
        )
    except (ValueError, TypeError):  # TypeError: a row shorter than the header (None)
        raise ValueError(
            f"spectra_file '{path}' holds a value that is not a number, or a row with too few"
        ) from None
    order = np.argsort(table[:, 0])
    x = table[order, 0]
    curves = [
        np.interp(grid.numpy(), x, table[order, 1 + k], left=0, right=0) for k in range(len(chosen))
    ]
    spectra = torch.tensor(np.array(curves), dtype=torch.float64).clamp_min(0)
    if (spectra.sum(dim=1) <= 0).any():
        raise ValueError(f"spectra_file '{path}': a spectrum is zero over the wavelength range")
    return chosen, spectra / spectra.sum(dim=1, keepdim=True)


def bandpass(grid: torch.Tensor, centers: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """``(M, L)`` transmission of M bandpass filters: 1 inside ``centre +- width / 2``, 0
    outside, with logistic edges ``EDGE_NM`` wide (smooth, so the centre and width learn)."""
    low = (centers - widths / 2)[:, None]
    high = (centers + widths / 2)[:, None]
    return torch.sigmoid((grid - low) / EDGE_NM) * torch.sigmoid((high - grid) / EDGE_NM)


class Fluorescence(PhysicalLayer):
    """K fluorophores imaged through M filters, with shot noise from a photon budget.

    The scene's K channels are the fluorophores' concentration maps ``c_k`` (relative, 0..1
    at full scale). Fluorophore k emits the spectrum ``e_k(lambda)`` (per wavelength bin,
    summing to 1 over the grid), and filter m transmits ``T_m(lambda)`` in [0, 1]:

        S[m, k]  = sum_lambda e_k(lambda) T_m(lambda)           (unitless: k's light through m)
        mu_m     = sum_k S[m, k] c_k(i, j)                      (relative signal)
        y_m      = Poisson(photons * mu_m) / photons            (with a photon budget)

    ``photons`` is the mean photon count per pixel from a fluorophore at concentration 1
    behind a filter that passes everything (null: no noise); the noise is the ``noise``
    layer's (exact Poisson counts, seeded in evaluation, straight-through in training). A filter
    that passes everything measures the sum of the concentrations.

    ``fluorophores`` names K dyes of ``DYES`` (Gaussian emission peaks, see the module), or
    columns of ``spectra_file``. The wavelength grid runs over ``wavelength_range_nm`` in
    ``wavelength_step_nm`` steps.

    Filters, ``filter_shape``:
    - ``bandpass``: M bands at ``filter_centers_nm`` with ``filter_widths_nm`` (null: M equal
      bands side by side over the range), with 2 nm logistic edges;
      ``learnable=true`` learns each band's centre (kept in the range) and width (kept from
      5 nm to the range's width);
    - ``free``: any transmission curve per filter, starting from those bands;
      ``learnable=true`` learns each curve, kept in [0, 1], with the penalty
      ``filter_smoothness * sum_m sum_lambda (T_m(lambda + step) - T_m(lambda))^2`` added to
      the loss so that the curves stay smooth enough to be made.

    ``init``: ``classical``, the bands above (M equal bands side by side unless
    ``filter_centers_nm``/``filter_widths_nm`` say otherwise), learned or fixed.

    ``to_scene`` unmixes by least squares, ``c = pinv(S) y``, exact without noise when the M
    filters tell the K spectra apart (M >= K and ``S`` of rank K).
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        fluorophores: list[str] | None = None,
        spectra_file: str | None = None,
        filters: Annotated[int, Range(1, 64)] = 3,
        filter_shape: Literal["bandpass", "free"] = "bandpass",
        filter_centers_nm: list[Annotated[float, Range(200, 2000)]] | None = None,
        filter_widths_nm: list[Annotated[float, Range(MIN_WIDTH_NM, 2000)]] | None = None,
        filter_smoothness: Annotated[float, Range(0, 1e6)] = 1.0,
        wavelength_range_nm: list[Annotated[float, Range(200, 2000)]] | None = None,
        wavelength_step_nm: Annotated[float, Range(0.1, 50)] = 2.0,
        photons: Annotated[float, Range(1e-3, 1e9)] | None = 1000.0,
        noise_seed: int = 0,
        init: Literal["classical"] = "classical",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        low, high = wavelength_range_nm or (400.0, 750.0)
        if not low < high:
            raise ValueError(f"wavelength_range_nm={[low, high]} must run from low to high")
        grid = wavelengths(low, high, wavelength_step_nm)
        if spectra_file:
            names, spectra = spectra_from_file(spectra_file, fluorophores, grid)
        else:
            names = fluorophores or ["DAPI", "EGFP", "mCherry"]
            spectra = gaussian_spectra(names, grid)
        if len(names) != self.in_shape[0]:
            raise ValueError(
                f"{len(names)} fluorophores ({', '.join(names)}) but the scenes have "
                f"{self.in_shape[0]} channels; set dataset.fluorophores={len(names)}"
            )
        self.names, self.filter_shape = names, filter_shape
        self.register_buffer("grid", grid.float(), persistent=False)
        self.register_buffer("spectra", spectra.float(), persistent=False)
        self.smoothness = filter_smoothness
        centers, widths = self.initial_bands(
            filters, low, high, filter_centers_nm, filter_widths_nm
        )
        if filter_shape == "bandpass":
            # In units of 100 nm for the optimizer: the default learning rate moves a band
            # by about half a nanometre a step.
            self.centers = PhysicalParameter(centers, Bounded(low, high, scale=100.0), learnable)
            bounds = Bounded(MIN_WIDTH_NM, high - low, scale=100.0)
            self.widths = PhysicalParameter(widths, bounds, learnable)
        else:
            curves = bandpass(self.grid, centers, widths)
            self.transmission = PhysicalParameter(curves, Bounded(0.0, 1.0), learnable)
        self.shot = (
            None
            if photons is None
            else Noise((filters, *self.in_shape[1:]), photons=photons, noise_seed=noise_seed)
        )

    @staticmethod
    def initial_bands(
        m: int, low: float, high: float, centers: list[float] | None, widths: list[float] | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The M bands' centres and widths (nm): as given, else M equal bands side by side."""
        step = (high - low) / m
        centers = centers if centers is not None else [low + (i + 0.5) * step for i in range(m)]
        widths = widths if widths is not None else [step] * m
        if len(centers) != m or len(widths) != m:
            raise ValueError(
                f"filters={m} needs {m} filter_centers_nm and {m} filter_widths_nm, got "
                f"{len(centers)} and {len(widths)}"
            )
        if not all(low <= c <= high for c in centers):
            raise ValueError(
                f"filter_centers_nm={centers} must lie in wavelength_range_nm {[low, high]}"
            )
        return torch.tensor(centers, dtype=torch.float32), torch.tensor(widths, dtype=torch.float32)

    def filter_curves(self) -> torch.Tensor:
        """``(M, L)``: each filter's transmission over the wavelength grid."""
        if self.filter_shape == "bandpass":
            return bandpass(self.grid, self.centers(), self.widths())
        return self.transmission()

    def crosstalk(self) -> torch.Tensor:
        """``S`` ``(M, K)``: the share of fluorophore k's light that filter m passes."""
        return self.filter_curves() @ self.spectra.T

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (len(self.filter_curves()), *self.in_shape[1:])

    def light(self, x: torch.Tensor) -> torch.Tensor:
        """``mu_m``: the noiseless light each filter passes, ``(B, M, H, W)``."""
        return mix_channels(x, self.crosstalk().to(x.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = self.light(x)
        return mu if self.shot is None else self.shot(mu)

    def photon_counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Each filter's electrons and their variance (the shot noise of the light it passes,
        ``photons * mu_m``); ``None`` without a photon budget."""
        return None if self.shot is None else self.shot.photon_counts(self.light(x))

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """The least-squares unmixing ``c = pinv(S) y``, pixel by pixel."""
        return unmix_channels(y, self.crosstalk().to(y.dtype))

    def penalty(self) -> torch.Tensor | float:
        """The smoothness penalty of learned free filter curves (0 for bands)."""
        if self.filter_shape != "free" or not self.transmission.learnable:
            return 0.0
        return self.smoothness * self.transmission().diff(dim=1).pow(2).sum()

    def maps(self) -> dict[str, torch.Tensor]:
        """``crosstalk``: ``S`` ``(M, K)``, rows filters, columns fluorophores; for bands,
        ``filter_bands``: ``(M, 2)``, each band's centre and width in nm."""
        maps = {"crosstalk": self.crosstalk().detach()}
        if self.filter_shape == "bandpass":
            maps["filter_bands"] = torch.stack([self.centers(), self.widths()], dim=1).detach()
        return maps

    def curves(self) -> dict[str, tuple[torch.Tensor, str, dict[str, torch.Tensor]]]:
        """``filters``: the emission spectra (scaled to peak 1) and the filter curves."""
        lines = {
            f"{n} emission": s / s.max() for n, s in zip(self.names, self.spectra, strict=True)
        }
        lines |= {f"filter {m}": t for m, t in enumerate(self.filter_curves().detach())}
        return {"filters": (self.grid, "wavelength (nm)", lines)}

    def extra_repr(self) -> str:
        if self.filter_shape == "bandpass":
            bands = ", ".join(
                f"{c:.0f}+-{w / 2:.0f}"
                for c, w in zip(self.centers().tolist(), self.widths().tolist(), strict=True)
            )
            filters = f"bands (nm) {bands}"
        else:
            filters = f"{len(self.filter_curves())} free filters"
        return f"fluorophores {', '.join(self.names)}; {filters}; learnable={self.learnable}"
