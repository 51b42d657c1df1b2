"""The single-photon sensor: Poisson tail statistics, binary output, seeding, gradients, threshold."""

from __future__ import annotations

import math

import pytest
import torch

from deepimg.physics.single_photon import SinglePhoton, firing_probability
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)

SHAPE = (1, 16, 16)


def poisson_tail(lam: float, q: int) -> float:
    """P(N >= q) for N ~ Poisson(lam), summed by hand."""
    return 1 - sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(q))


@pytest.mark.parametrize("lam", [0.0, 0.5, 2.0, 7.0, 30.0])
@pytest.mark.parametrize("q", [1, 2, 3, 6])
def test_firing_probability_is_the_poisson_tail(lam: float, q: int) -> None:
    p = firing_probability(torch.tensor(lam, dtype=torch.float64), torch.tensor(float(q)))
    assert p.item() == pytest.approx(poisson_tail(lam, q), abs=1e-10)


def test_firing_probability_gradients_agree_with_finite_differences() -> None:
    lam = torch.tensor([0.3, 1.0, 2.5, 6.0, 12.0], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([1.0, 2.0, 2.0, 4.0, 9.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(firing_probability, (lam, q), eps=1e-6, atol=1e-7)


def test_threshold_derivative_at_one_photon_matches_its_integral() -> None:
    # P(a, lam) = gamma(a, lam) / Gamma(a); at a = 1, with Gamma'(1) = -euler_gamma:
    # dP/da = int_0^lam ln(t) e^-t dt + euler_gamma * (1 - e^-lam).
    lam = 2.0
    s = torch.linspace(0, math.sqrt(lam), 200_001, dtype=torch.float64)  # t = s^2
    integrand = 4 * s * torch.xlogy(s, s) / s.clamp_min(1e-300) * torch.exp(-(s**2))
    expected = torch.trapezoid(integrand, s).item() + 0.5772156649015329 * (1 - math.exp(-lam))
    q = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    firing_probability(torch.tensor(lam, dtype=torch.float64), q).backward()
    assert q.grad.item() == pytest.approx(expected, abs=1e-6)


def test_more_light_fires_more_and_a_higher_threshold_fires_less() -> None:
    lam = torch.tensor([0.5, 2.0, 5.0], requires_grad=True)
    q = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)
    firing_probability(lam, q).sum().backward()
    assert (lam.grad > 0).all() and (q.grad < 0).all()


@pytest.mark.parametrize("training", [True, False])
def test_output_is_binary(training: bool) -> None:
    layer = SinglePhoton(SHAPE, photons=3.0, threshold=2, learnable=True).train(training)
    y = layer(torch.rand(8, *SHAPE))
    assert set(y.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize(
    ("photons", "level", "q"), [(4.0, 0.5, 1), (4.0, 0.5, 3), (20.0, 0.25, 5), (0.5, 1.0, 1)]
)
@pytest.mark.parametrize("training", [True, False])
def test_firing_rate_of_a_flat_scene_is_the_poisson_tail(
    photons: float, level: float, q: int, training: bool
) -> None:
    n = 64 * 16 * 16
    layer = SinglePhoton(SHAPE, photons=photons, threshold=q).train(training)
    rate = layer(torch.full((64, *SHAPE), level)).mean().item()
    expected = poisson_tail(photons * level, q)  # e.g. lam = 2, q = 1: 1 - e^-2
    assert rate == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / n))


def test_evaluation_photons_are_seeded_by_photon_seed_and_content() -> None:
    x = torch.rand(8, *SHAPE)
    a, b = SinglePhoton(SHAPE, photon_seed=0).eval(), SinglePhoton(SHAPE, photon_seed=0).eval()
    assert torch.equal(a(x), b(x)) and torch.equal(a(x), a(x))
    assert not torch.equal(a(x), SinglePhoton(SHAPE, photon_seed=1).eval()(x))
    assert not torch.equal(a(x), a(x.flip(0)).flip(0))  # other batch content, other draw


def test_fixed_threshold_is_a_buffer_and_no_map() -> None:
    layer = SinglePhoton(SHAPE, threshold=3)
    assert list(layer.parameters()) == [] and layer.maps() == {}
    assert set(layer.state_dict()) == {"threshold.value"} and (layer.threshold() == 3).all()


def test_gradients_reach_the_scene_and_the_threshold() -> None:
    layer = SinglePhoton(SHAPE, photons=4.0, threshold=2, learnable=True)
    assert_gradients_reach_input_and_parameters(layer, torch.rand(4, *SHAPE))


def test_state_dict_round_trip() -> None:
    def make() -> SinglePhoton:
        return SinglePhoton(SHAPE, photons=4.0, threshold=2, learnable=True, photon_seed=3)

    assert_state_dict_round_trip(make, torch.rand(4, *SHAPE))


def test_project_keeps_the_threshold_at_one_photon_or_more() -> None:
    layer = SinglePhoton(SHAPE, learnable=True)
    with torch.no_grad():
        layer.threshold.latent.copy_(torch.linspace(-2, 3, 256).reshape(SHAPE))
        layer.project()
    assert layer.threshold().min().item() == 1.0
    assert (layer.threshold()[layer.threshold() > 1] > 1).all()  # the rest is left alone
    assert (layer.maps()["threshold"] >= 1).all()


def test_learned_threshold_rises_when_the_task_wants_fewer_pixels_to_fire() -> None:
    layer = SinglePhoton(SHAPE, photons=8.0, threshold=1, learnable=True)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1000.0)
    x = torch.full((4, *SHAPE), 0.5)  # lam = 4: almost every pixel fires at q = 1
    for _ in range(5):
        optimizer.zero_grad()
        (layer(x) ** 2).mean().backward()
        optimizer.step()
        layer.project()
    q = layer.maps()["threshold"]
    assert q.shape == SHAPE and q.min() >= 2
    assert q.eq(q.round()).all()  # the comparator counts whole photons
    layer.eval()
    assert layer(x).mean() < 1 - math.exp(-4)


@pytest.mark.parametrize(("photons", "threshold"), [(0.0, 1), (4.0, 0), (4.0, 1.5)])
def test_bad_values_are_refused(photons: float, threshold) -> None:
    with pytest.raises(ValueError, match="photons|threshold"):
        SinglePhoton(SHAPE, photons=photons, threshold=threshold)
