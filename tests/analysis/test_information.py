"""Bits per pixel against cases whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from deepimg.analysis.information import (
    bits_per_pixel,
    patches,
    plugin_entropy_bits,
)


def gaussian_case(snr: float, n: int, d: int = 16, seed: int = 0) -> tuple:
    """Independent Gaussian pixels of variance ``snr`` (electrons^2) behind unit noise."""
    rng = np.random.default_rng(seed)
    scenes = rng.normal(100.0, math.sqrt(snr), (2 * n, d))
    measured = scenes + rng.normal(0.0, 1.0, scenes.shape)
    return measured[:n], measured[n:], np.ones((n, d))


@pytest.mark.parametrize("snr", [0.5, 3.0, 30.0])
def test_independent_gaussian_pixels_give_half_log2_one_plus_snr(snr: float) -> None:
    train, test, variance = gaussian_case(snr, n=8_000)
    estimate = bits_per_pixel(train, test, variance)
    expected = 0.5 * math.log2(1 + snr)
    assert estimate.bits == pytest.approx(expected, rel=0.03)
    assert estimate.low < expected < estimate.high or abs(estimate.bits - expected) < 0.01


def test_the_ci_narrows_with_more_samples() -> None:
    small = bits_per_pixel(*gaussian_case(3.0, n=400))
    large = bits_per_pixel(*gaussian_case(3.0, n=8_000))
    assert large.high - large.low < 0.5 * (small.high - small.low)


def scenes(seed: int = 0, n: int = 2000, blur: float = 0.0) -> np.ndarray:
    """Smooth random scenes in [0, 1] ``(n, 1, 16, 16)``, blurred by ``blur`` pixels."""
    rng = np.random.default_rng(seed)
    x = gaussian_filter(rng.random((n, 1, 16, 16)), sigma=(0, 0, 1.5, 1.5))
    x = (x - x.min()) / (x.max() - x.min())
    return gaussian_filter(x, sigma=(0, 0, blur, blur)) if blur else x


def shot_noise_bits(x: np.ndarray, photons: float, seed: int = 1) -> float:
    """Bits per pixel of 4x4 patches of ``x`` imaged with Poisson noise at ``photons``."""
    rng = np.random.default_rng(seed)
    mean = photons * x + 1.0  # a dark electron keeps every variance above zero
    measured = rng.poisson(mean).astype(float)
    half = len(x) // 2
    train = patches(measured[:half], 4, 3000, seed=2)
    test = patches(measured[half:], 4, 3000, seed=3)
    variance = patches(mean[half:], 4, 3000, seed=3)  # the same crops: seeds match
    return bits_per_pixel(train, test, variance, mean_electrons=float(mean.mean())).bits


def test_more_photons_give_more_bits() -> None:
    x = scenes()
    bits = [shot_noise_bits(x, p) for p in (30, 300, 3000)]
    assert bits[0] < bits[1] < bits[2]


def test_a_wider_blur_gives_fewer_bits() -> None:
    bits = [shot_noise_bits(scenes(blur=b), 1000) for b in (0.0, 1.0, 3.0)]
    assert bits[0] > bits[1] > bits[2]


def test_a_constant_scene_gives_about_zero() -> None:
    x = np.full((2000, 1, 16, 16), 0.5)
    assert shot_noise_bits(x, 1000) < 0.02


def test_few_photons_are_flagged() -> None:
    train, test, variance = gaussian_case(3.0, n=1000)
    assert "below 20" in bits_per_pixel(train, test, variance, mean_electrons=5.0).warning
    assert bits_per_pixel(train, test, variance, mean_electrons=500.0).warning == ""


def test_plugin_entropy_of_known_binary_patterns() -> None:
    rng = np.random.default_rng(0)
    uniform = rng.integers(0, 2, (40_000, 3))  # 8 patterns, equally likely: 3 bits
    assert plugin_entropy_bits(uniform) == pytest.approx(3.0, abs=0.01)
    biased = (rng.random((40_000, 2)) < 0.1).astype(int)  # 2 independent pixels, p = 0.1
    h = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))
    assert plugin_entropy_bits(biased) == pytest.approx(2 * h, abs=0.01)
    assert plugin_entropy_bits(np.zeros((100, 4))) == 0.0


def test_patches_are_seeded_crops() -> None:
    images = np.arange(2 * 1 * 6 * 6, dtype=float).reshape(2, 1, 6, 6)
    a, b = patches(images, 3, 5, seed=0), patches(images, 3, 5, seed=0)
    assert a.shape == (5, 9) and np.array_equal(a, b)
    with pytest.raises(ValueError, match="patch size 7"):
        patches(images, 7, 1, seed=0)


def test_one_bit_patterns_through_a_binary_channel_give_one_minus_its_entropy() -> None:
    """Fair independent bits, each flipped with chance 0.1: 1 - h(0.1) = 0.531 bits a pixel."""
    from deepimg.analysis.information import binary_bits_per_pixel, binary_entropy_bits

    rng = np.random.default_rng(0)
    scenes = rng.random((40_000, 9)) < 0.5
    flip = 0.1
    measured = scenes ^ (rng.random(scenes.shape) < flip)
    firing = np.where(scenes, 1 - flip, flip)
    estimate = binary_bits_per_pixel(measured[:20_000], measured[20_000:], firing[20_000:])
    expected = 1 - float(binary_entropy_bits(np.array(flip)))
    assert estimate.bits == pytest.approx(expected, abs=0.02)
    assert estimate.low < estimate.bits < estimate.high
    certain = binary_bits_per_pixel(scenes[:20_000], scenes[20_000:], scenes[20_000:] * 1.0)
    assert certain.bits == pytest.approx(1.0, abs=0.02)  # no noise: every bit is information
