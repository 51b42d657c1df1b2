"""``photon_counts``: the electrons before any ADC and their noise variance, for bits per pixel."""

from __future__ import annotations

import torch

from deepimg.physics.cfa import ColorFilterArray
from deepimg.physics.noise import Noise
from deepimg.physics.quantize import Quantize
from deepimg.physics.sensor import Sensor


def test_noise_gives_poisson_counts_whose_variance_is_their_mean_plus_read_noise() -> None:
    layer = Noise((1, 16, 16), photons=50.0, read_noise_e=2.0).eval()
    x = torch.full((400, 1, 16, 16), 0.4)
    counts, variance = layer.photon_counts(x)
    assert torch.allclose(variance, torch.full_like(variance, 0.4 * 50 + 4.0))
    assert abs(counts.mean().item() - 20.0) < 0.1
    assert abs(counts.var().item() - 24.0) < 0.5  # Poisson 20 + read noise 2^2


def test_a_sensor_chain_counts_before_its_adc() -> None:
    chain = Sensor((1, 8, 8), parts={
        "noise": lambda shape: Noise(shape, photons=100.0),
        "quantize": lambda shape: Quantize(shape, bits=1),
    }).eval()  # fmt: skip
    counts, variance = chain.photon_counts(torch.full((50, 1, 8, 8), 0.5))
    assert counts.unique().numel() > 2  # electrons, not the 1-bit output
    assert torch.allclose(variance, torch.full_like(variance, 50.0))


def test_a_cfa_counts_each_filters_light_and_a_layer_without_noise_has_none() -> None:
    cfa = ColorFilterArray((3, 8, 8), pattern="rgbw", palette="rgbw", photons=300.0).eval()
    _, variance = cfa.photon_counts(torch.ones(2, 3, 8, 8))
    # a white pixel collects all 300 photons of a white scene, a colour one a third of them
    assert set(variance.unique().round().tolist()) == {100.0, 300.0}
    assert Quantize((1, 8, 8), bits=4).photon_counts(torch.ones(1, 1, 8, 8)) is None
    assert ColorFilterArray((3, 8, 8)).photon_counts(torch.ones(1, 3, 8, 8)) is None


def test_a_tiled_design_has_its_tiles_period_and_patches_start_on_it() -> None:
    import numpy as np

    from deepimg.analysis.information import patches
    from deepimg.physics.exposure import Exposure

    assert ColorFilterArray((3, 16, 16), pattern="bayer").period == (2, 2)
    assert ColorFilterArray((3, 16, 16), pattern="rgbw").period == (4, 4)
    assert Exposure((1, 8, 8), tile=2).period == (2, 2)
    assert Noise((1, 8, 8)).period == (1, 1)
    chain = Sensor((3, 8, 8), parts={
        "cfa": lambda shape: ColorFilterArray(shape, pattern="rgbw"),
        "noise": lambda shape: Noise(shape),
    })  # fmt: skip
    assert chain.period == (4, 4)
    # each pixel holds its own position, so a crop's first value is where it starts
    where = np.arange(16 * 16, dtype=float).reshape(1, 1, 16, 16)
    starts = patches(where, 4, 200, seed=0, period=(4, 4))[:, 0].astype(int)
    assert set(np.unique(starts // 16 % 4)) == {0} and set(np.unique(starts % 16 % 4)) == {0}
    assert len(np.unique(starts)) > 1


def test_fluorescence_counts_the_light_each_filter_passes() -> None:
    from deepimg.physics.fluorescence import Fluorescence

    layer = Fluorescence((3, 8, 8), filters=2, photons=500.0).eval()
    x = torch.rand(4, 3, 8, 8)
    counts, variance = layer.photon_counts(x)
    assert counts.shape == variance.shape == (4, 2, 8, 8)
    light = 500.0 * torch.einsum("bkhw,mk->bmhw", x, layer.crosstalk())
    assert torch.allclose(variance, light, rtol=1e-5)  # Poisson: the variance is the mean
    assert Fluorescence((3, 8, 8), photons=None).photon_counts(x) is None
