"""PSNR per image and its mean, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from deepimg.tasks.restore.psnr import MeanPSNR, psnr_per_image


def test_psnr_of_a_constant_offset() -> None:
    x = torch.rand(3, 1, 8, 8)
    for c in (0.1, 0.01):
        assert psnr_per_image(x + c, x, 1.0) == pytest.approx(
            [20 * math.log10(1 / c)] * 3, rel=1e-6
        )
        # a full scale of 4 (HDR scenes) adds 20 log10(4) dB for the same error
        assert psnr_per_image(x + c, x, 4.0)[0] == pytest.approx(20 * math.log10(4 / c), rel=1e-6)


def test_psnr_is_the_mean_over_images_and_finite_for_identical_images() -> None:
    x = torch.rand(2, 1, 8, 8)
    metric = MeanPSNR(1.0)
    metric.update(torch.stack([x[0] + 0.1, x[1] + 0.01]), x)
    assert float(metric.compute()) == pytest.approx((20 + 40) / 2, rel=1e-5)
    ceiling = 10 * math.log10(12 * 65535**2)  # MSE floored at 16-bit quantisation noise
    assert float(MeanPSNR(1.0)(x, x)) == pytest.approx(ceiling, rel=1e-6)
