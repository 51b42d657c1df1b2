"""Sensor noise in electrons: Poisson statistics, read noise, full well, seeding, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from deepimg.physics.noise import Noise

SHAPE = (1, 16, 16)


def flat(level: float, n: int = 400) -> torch.Tensor:
    return torch.full((n, *SHAPE), level)


@pytest.mark.parametrize("photons", [5.0, 50.0, 500.0])
def test_shot_noise_has_mean_equal_to_variance_in_electrons(photons: float) -> None:
    layer = Noise(SHAPE, photons=photons, qe=0.8).eval()
    e = layer.electrons(flat(0.5))
    expected = 0.8 * photons * 0.5
    assert e.mean().item() == pytest.approx(expected, rel=0.02)
    assert e.var().item() == pytest.approx(expected, rel=0.05)


def test_read_noise_std_is_as_set() -> None:
    layer = Noise(SHAPE, photons=100, read_noise_e=3.0).eval()
    e = layer.electrons(flat(0.0))  # no light, no dark current: read noise alone
    assert e.std().item() == pytest.approx(3.0, rel=0.03) and abs(e.mean().item()) < 0.05


def test_training_sees_exact_photon_counts_at_one_photon_a_pixel() -> None:
    """At 1 photon a pixel the counts are 0, 1, 2, ... in training as in evaluation (a
    Gaussian of the same variance would train the network on values it never meets)."""
    layer = Noise(SHAPE, photons=1.0).train()
    e = layer.electrons(flat(1.0))
    assert torch.equal(e, e.round()) and (e >= 0).all()
    assert (e == 0).float().mean().item() == pytest.approx(math.exp(-1), abs=0.01)


def test_training_noise_has_the_same_mean_and_variance() -> None:
    layer = Noise(SHAPE, photons=40, read_noise_e=2.0, dark_e=3.0).train()
    e = layer.electrons(flat(0.5))
    assert e.mean().item() == pytest.approx(23.0, rel=0.02)
    assert e.var().item() == pytest.approx(23.0 + 4.0, rel=0.05)


def test_output_is_in_scene_units_and_clips_at_full_well() -> None:
    layer = Noise(SHAPE, photons=1e6, full_well_e=5e5).eval()
    ramp = torch.linspace(0, 1, 256)
    y = layer(ramp.reshape(1, *SHAPE)).flatten()
    assert torch.allclose(y[:64], ramp[:64], atol=0.01)
    assert y.max().item() == pytest.approx(0.5)  # saturated at full_well / (qe * photons)
    saturated = (y >= 0.5 - 1e-6).float().mean().item()
    assert saturated == pytest.approx(0.5, abs=0.01)  # the analytic share: x >= 0.5


def test_evaluation_noise_is_seeded_by_noise_seed_and_content() -> None:
    x = torch.rand(8, *SHAPE)
    a, b = (
        Noise(SHAPE, photons=10, noise_seed=0).eval(),
        Noise(SHAPE, photons=10, noise_seed=0).eval(),
    )
    assert torch.equal(a(x), b(x)) and torch.equal(a(x), a(x))
    assert not torch.equal(a(x), Noise(SHAPE, photons=10, noise_seed=1).eval()(x))
    assert not torch.equal(a(x), a(x.flip(0)).flip(0))  # other batch content, other draw


def test_gradient_reaches_the_scene_in_training() -> None:
    x = torch.rand(4, *SHAPE, requires_grad=True)
    Noise(SHAPE, photons=20, read_noise_e=1.0).train()(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gradient_is_finite_on_black_pixels() -> None:
    x = torch.zeros(2, 1, 8, 8)
    x[:, :, 2:5, 2:5] = 0.5  # an object on a black background, as in Fashion-MNIST
    x.requires_grad_(True)
    Noise((1, 8, 8), photons=100).train()(x).sum().backward()
    assert torch.isfinite(x.grad).all()
