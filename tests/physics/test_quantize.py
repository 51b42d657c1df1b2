"""The ADC: levels, idempotence, error bound, straight-through gradient, learned gain and step."""

from __future__ import annotations

import math

import pytest
import torch

from deepimg.physics.functional import quantize
from deepimg.physics.quantize import Quantize
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)

RAMP = torch.linspace(0, 1, 70007).reshape(1, 1, 7, 10001)


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 8])
def test_ramp_gives_exactly_2_to_the_bits_levels(bits: int) -> None:
    levels = Quantize((1, 7, 10001), bits=bits)(RAMP).unique()
    assert len(levels) == 2**bits
    assert levels.min() == 0 and levels.max() == 1


def test_three_bits_never_more_than_eight_levels_on_random_input() -> None:
    x = torch.rand(16, 1, 28, 28) * 1.4 - 0.2  # includes out-of-range scenes
    assert len(quantize(x, 3).unique()) <= 8


@pytest.mark.parametrize("bits", [1, 3, 8, 16])
def test_quantizing_twice_changes_nothing(bits: int) -> None:
    once = quantize(torch.rand(4, 1, 28, 28), bits)
    assert torch.equal(quantize(once, bits), once)


@pytest.mark.parametrize("bits", [1, 2, 5, 8, 12])
def test_error_is_at_most_half_a_step(bits: int) -> None:
    x = torch.rand(8, 1, 28, 28, dtype=torch.float64)
    step = 1 / (2**bits - 1)
    assert (quantize(x, bits) - x).abs().max() <= step / 2 + 1e-12


def test_one_bit_is_a_threshold_at_half_scale() -> None:
    x = torch.tensor([0.0, 0.49, 0.51, 1.0]).reshape(1, 1, 1, 4)
    assert quantize(x, 1).flatten().tolist() == [0.0, 0.0, 1.0, 1.0]


def test_gradient_passes_straight_through_inside_the_range() -> None:
    x = (torch.rand(2, 1, 8, 8) * 0.9 + 0.05).requires_grad_()
    quantize(x, 2).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_gradient_is_zero_where_the_adc_saturates() -> None:
    x = torch.tensor([-0.5, 0.5, 1.5]).requires_grad_()
    quantize(x, 4).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("bits", [0, 17, 2.5, True])
def test_bits_outside_1_to_16_are_refused(bits) -> None:
    with pytest.raises(ValueError, match="1..16"):
        Quantize((1, 4, 4), bits=bits)


def test_fixed_layer_has_no_parameters_and_no_map() -> None:
    layer = Quantize((1, 4, 4), bits=4)
    assert list(layer.parameters()) == [] and layer.maps() == {}


def test_learned_gain_is_positive_trains_and_round_trips() -> None:
    layer = Quantize((1, 6, 6), bits=1, learnable=True)
    optimizer = torch.optim.SGD(layer.parameters(), lr=50.0)
    x = torch.rand(4, 1, 6, 6)
    target = torch.ones_like(x)  # "fire everywhere": the gains must rise
    for _ in range(5):
        optimizer.zero_grad()
        ((layer(x) - target) ** 2).mean().backward()
        assert (
            torch.isfinite(layer.gain.latent.grad).all() and layer.gain.latent.grad.abs().sum() > 0
        )
        optimizer.step()
    assert (layer.gain() > 0).all() and layer.gain().mean() > 1
    assert layer.maps()["gain"].shape == (1, 6, 6)
    copy = Quantize((1, 6, 6), bits=1, learnable=True)
    copy.load_state_dict(layer.state_dict())
    assert torch.equal(copy(x), layer(x))


def with_step(bits: int, step: float, shape=(1, 1, 5)) -> Quantize:
    layer = Quantize(shape, bits=bits, learn_step=True)
    with torch.no_grad():
        layer.step.latent.fill_(math.log(step))
    return layer


@pytest.mark.parametrize("bits", [1, 4, 8])
def test_learned_step_starts_as_the_fixed_adc(bits: int) -> None:
    layer = Quantize((1, 28, 28), bits=bits, learn_step=True)
    assert layer.step().item() == pytest.approx(1 / (2**bits - 1))
    top = 2**bits - 1
    # Levels plus offsets of at most 0.4 step: no value near a rounding tie, where the two
    # float paths (x * Q and x / s) could round apart.
    x = (torch.randint(0, top + 1, (4, 1, 28, 28)) + 0.8 * torch.rand(4, 1, 28, 28) - 0.4) / top
    assert torch.allclose(layer(x), Quantize((1, 28, 28), bits=bits)(x), atol=1e-6)


def test_learned_step_gives_at_most_2_to_the_bits_multiples_of_the_step() -> None:
    layer = with_step(bits=3, step=0.3, shape=(1, 7, 10001))
    y = layer(RAMP * 3 - 0.5)  # below zero up to past full scale (7 * 0.3 = 2.1)
    levels = y.unique()
    assert len(levels) == 8
    assert torch.allclose(levels, 0.3 * torch.arange(8.0), atol=1e-6)


def test_learned_step_adc_is_idempotent() -> None:
    layer = with_step(bits=3, step=0.3, shape=(1, 28, 28))
    once = layer(torch.rand(4, 1, 28, 28) * 2.5)
    assert torch.equal(layer(once), once)


def test_one_bit_learned_step_is_a_global_threshold_at_half_a_step() -> None:
    layer = with_step(bits=1, step=0.6, shape=(1, 1, 4))
    x = torch.tensor([0.0, 0.29, 0.31, 0.9]).reshape(1, 1, 1, 4)
    assert torch.allclose(layer(x).flatten(), torch.tensor([0.0, 0.0, 0.6, 0.6]))


def test_step_gradient_is_lsq_with_its_gradient_scale() -> None:
    step, bits = 0.25, 2  # Q = 3 levels above zero, full scale 0.75
    layer = with_step(bits, step)
    x = torch.tensor([0.1, 0.3, 0.6, 0.9, -0.2]).reshape(1, 1, 1, 5)
    layer(x).sum().backward()
    v = x.flatten() / step
    # dy/ds: DN - x/s inside the range, Q above it, 0 below zero.
    dy_ds = torch.where(v > 3, 3.0, torch.where(v < 0, 0.0, v.round() - v))
    scale = 1 / math.sqrt(5 * 3)  # 1 / sqrt(pixels * Q)
    expected = step * scale * dy_ds.sum()  # chain rule through s = exp(log_step)
    assert layer.step.latent.grad.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_step_trains_to_the_lsq_fixed_point_on_uniform_scenes(bits: int) -> None:
    # Minimising E(y - x)^2 for x ~ U(0, 1): the expected LSQ gradient is
    # Q s^2 / 6 (rounding error) - Q (1 - Q s)^2 (saturation), zero at s = 1 / (Q + 1/sqrt 6).
    layer = Quantize((1, 16, 16), bits=bits, learn_step=True)
    x = ((torch.arange(1024) + 0.5) / 1024).reshape(4, 1, 16, 16)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 1 - i / 100)
    for _ in range(100):
        optimizer.zero_grad()
        ((layer(x) - x) ** 2).mean().backward()
        optimizer.step()
        schedule.step()
    q = 2**bits - 1
    full_scale = layer.step().item() * q
    assert full_scale == pytest.approx(q / (q + 1 / math.sqrt(6)), abs=3e-3)


def test_learned_step_is_reported_by_extra_repr_and_saved_as_a_number() -> None:
    layer = with_step(bits=2, step=0.25)
    assert "step=0.25 (full scale 0.75)" in layer.extra_repr()
    assert layer.maps().keys() == {"adc_step"} and layer.maps()["adc_step"].item() == 0.25
    assert ", step=" not in Quantize((1, 4, 4), bits=2).extra_repr()


def test_learned_step_and_gain_train_together_and_round_trip() -> None:
    def make() -> Quantize:
        return Quantize((1, 8, 8), bits=2, learnable=True, learn_step=True)

    x = torch.rand(4, 1, 8, 8)
    assert_gradients_reach_input_and_parameters(make(), x)
    assert_state_dict_round_trip(make, x)
    assert set(make().state_dict()) == {"gain.latent", "gain.value", "step.latent", "step.value"}
