"""The ADC: levels, idempotence, error bound, straight-through gradient, learned gain."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.functional import quantize
from deepimg.physics.quantize import Quantize

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
        assert torch.isfinite(layer.log_gain.grad).all() and layer.log_gain.grad.abs().sum() > 0
        optimizer.step()
    assert (layer.gain > 0).all() and layer.gain.mean() > 1
    assert layer.maps()["gain"].shape == (1, 6, 6)
    copy = Quantize((1, 6, 6), bits=1, learnable=True)
    copy.load_state_dict(layer.state_dict())
    assert torch.equal(copy(x), layer(x))
