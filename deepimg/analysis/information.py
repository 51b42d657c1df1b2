"""Bits per pixel: what a noisy measurement can tell about the scene, estimated without training.

The mutual information between the scene ``X`` and its noisy measurement ``Y`` (Pinkard,
Kabuli, Markley, Chien, Jiao and Waller, "Information-driven design of imaging systems",
2024), per pixel:

    I(X; Y) = H(Y) - H(Y | X)

* ``H(Y)``, the entropy of the measurements, is bounded above by the cross-entropy of a
  model fitted to them: here a Gaussian (mean and covariance of measurement patches) fitted
  on one split and evaluated on another, its covariance's eigenvalues floored at the smallest
  noise variance (no measurement varies less than its noise), so it is never singular;
* ``H(Y | X)``, what the noise alone adds, comes from the noise model: Poisson shot noise
  and Gaussian read noise make each pixel, given the scene, nearly Gaussian with variance
  ``mu_e + read_noise_e^2`` (electrons), whose entropy is ``1/2 log2(2 pi e var)``.

Both are differential entropies in the same unit (electrons), so their difference is in bits
and unit-free. Because ``H(Y)`` is over-estimated, so is ``I``: a better density model gives a
lower, tighter estimate; designs are compared on the same model. The Gaussian approximation
of Poisson noise holds from about 20 photons a pixel (``LOW_PHOTONS``); below it, and for
quantised or 1-bit outputs (where differential entropy means nothing), the estimate is not
valid: estimate before the ADC, or count binary patterns (``plugin_entropy_bits``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from deepimg.analysis.statistics import mean_ci

BITS = "info/bits_per_pixel"  # the estimate's name in metrics.json (with _low and _high)
PATCH = 8  # pixels a side of the patches whose covariance is fitted: 64 values a channel
LOW_PHOTONS = 20.0  # mean electrons a pixel below which the Gaussian noise entropy is poor
# The least noise variance (electrons^2): counts are whole electrons, so a pixel with no light
# and no read noise still spreads over one electron, a uniform's 1/12, not over nothing.
MIN_VARIANCE = 1.0 / 12.0
LOG2_2PI = math.log2(2 * math.pi)
LOG2_2PIE = math.log2(2 * math.pi * math.e)


class Estimate(NamedTuple):
    """Bits per pixel, the 95% CI over test patches, their count, and a warning ('' if none)."""

    bits: float
    low: float
    high: float
    n: int
    warning: str = ""


def patches(
    images: np.ndarray, size: int, count: int, seed: int, period: tuple[int, int] = (1, 1)
) -> np.ndarray:
    """``count`` seeded ``size x size`` crops of ``images`` ``(N, C, H, W)``, each flattened:
    ``(count, C * size * size)``. The covariance of whole large images would not fit; that of
    small patches does, and a scene's statistics are much the same everywhere. Crops start at
    multiples of ``period`` (a CFA's tile), so every crop sees the design in the same phase:
    one Gaussian over crops in several phases would be a mixture, and overstate ``H(Y)``."""
    n, _, h, w = images.shape
    if size > min(h, w):
        raise ValueError(f"patch size {size} is larger than the {h}x{w} images")
    rng = np.random.default_rng(seed)
    which = rng.integers(0, n, count)
    rows, cols = (h - size) // period[0] + 1, (w - size) // period[1] + 1
    top = rng.integers(0, rows, count) * period[0]
    left = rng.integers(0, cols, count) * period[1]
    crops = [
        images[i, :, t : t + size, s : s + size] for i, t, s in zip(which, top, left, strict=True)
    ]
    return np.stack(crops).reshape(count, -1)


def patch_size(shape: tuple[int, ...]) -> int:
    """The side of the patches for measurements of ``shape`` (``..., H, W``): ``PATCH``, or
    half the smaller side, so that a measurement holds patches at several positions."""
    return min(PATCH, *(n // 2 for n in shape[-2:]))


def gaussian_cross_entropy_bits(train: np.ndarray, test: np.ndarray, floor: float) -> np.ndarray:
    """Each test sample's negative log2-likelihood (bits, summed over its D values) under the
    Gaussian fitted to ``train`` ``(N, D)`` (Ledoit-Wolf shrinkage), the covariance's
    eigenvalues floored at ``floor``."""
    from sklearn.covariance import ledoit_wolf

    train, test = np.asarray(train, np.float64), np.asarray(test, np.float64)
    mean = train.mean(axis=0)
    # Shrunk towards a multiple of the identity (Ledoit and Wolf 2004): with few scenes for
    # the patch's D values, the sample covariance has near-empty directions in which a test
    # patch looks impossible; any fitted model still bounds H(Y) from above.
    covariance = np.atleast_2d(ledoit_wolf(train)[0])
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, floor)
    centred = (test - mean) @ vectors  # in the eigenbasis: independent coordinates
    mahalanobis = (centred**2 / values).sum(axis=1)
    d = test.shape[1]
    log_det = np.log2(values).sum()
    return 0.5 * (d * LOG2_2PI + log_det + mahalanobis / math.log(2))


def gaussian_noise_entropy_bits(noise_variance: np.ndarray) -> np.ndarray:
    """``H(Y | X)`` of each sample (bits, summed over its values): the entropy of independent
    Gaussian noise of the given variances ``(M, D)`` (electrons^2)."""
    variance = np.asarray(noise_variance, np.float64)
    return 0.5 * (LOG2_2PIE + np.log2(variance)).sum(axis=1)


def bits_per_pixel(
    train: np.ndarray,
    test: np.ndarray,
    noise_variance: np.ndarray,
    mean_electrons: float | None = None,
) -> Estimate:
    """``I(X; Y)`` per pixel from noisy measurement patches (electrons): ``train`` fits the
    Gaussian, ``test`` ``(M, D)`` evaluates it, ``noise_variance`` ``(M, D)`` is each test
    value's noise variance given its scene, at least ``MIN_VARIANCE`` (a dark pixel without
    read noise). The CI is a bootstrap over the test patches."""
    test = np.asarray(test, np.float64)
    variance = np.maximum(np.asarray(noise_variance, np.float64), MIN_VARIANCE)
    floor = float(variance.min())
    per_sample = gaussian_cross_entropy_bits(train, test, floor) - gaussian_noise_entropy_bits(
        variance
    )
    bits, low, high = mean_ci(per_sample / test.shape[1])
    warning = ""
    if mean_electrons is not None and mean_electrons < LOW_PHOTONS:
        warning = (
            f"{mean_electrons:.3g} electrons a pixel on average: below {LOW_PHOTONS:g}, the "
            "Gaussian entropy of Poisson noise is a poor approximation"
        )
    return Estimate(max(bits, 0.0), low, high, len(test), warning)


def plugin_entropy_bits(patterns: np.ndarray) -> float:
    """The plug-in (maximum-likelihood) entropy, in bits, of discrete patterns ``(N, D)`` (e.g.
    1-bit patches): ``-sum p log2 p`` over the distinct patterns' frequencies. Biased low when
    the patterns are many for N (keep D small: 2^D well below N)."""
    rows = np.ascontiguousarray(np.asarray(patterns))
    _, counts = np.unique(rows, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def binary_entropy_bits(p: np.ndarray) -> np.ndarray:
    """``h(p) = -p log2 p - (1 - p) log2 (1 - p)``, 0 at p = 0 and 1."""
    p = np.clip(np.asarray(p, np.float64), 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def binary_bits_per_pixel(fit: np.ndarray, test: np.ndarray, firing: np.ndarray) -> Estimate:
    """``I(X; Y)`` per pixel of 1-bit measurements, counted rather than assumed Gaussian:
    ``H(Y)`` is the cross-entropy of the test patches' patterns ``(M, D)`` under their
    frequencies among the ``fit`` patches (add-1/2 smoothing, so no pattern is impossible;
    like the Gaussian, a bound from above), and ``H(Y | X)`` the binary entropy of each pixel's
    chance of a 1 given the scene, ``firing`` ``(M, D)``: the pixels of a patch fire
    independently given the scene. The CI is a bootstrap over the test patches."""
    fit, test = np.asarray(fit) > 0.5, np.asarray(test) > 0.5
    d = test.shape[1]
    weights = 1 << np.arange(d)
    seen = np.bincount(fit.astype(np.int64) @ weights, minlength=2**d) + 0.5
    probability = seen / seen.sum()
    surprisal = -np.log2(probability[test.astype(np.int64) @ weights])
    per_sample = (surprisal - binary_entropy_bits(firing).sum(axis=1)) / d
    bits, low, high = mean_ci(per_sample)
    return Estimate(max(bits, 0.0), low, high, len(test))
