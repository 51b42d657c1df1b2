"""Learned illumination: incoherent sums of LED images, LED powers kept in [0, 1]."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.illumination import Illumination
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)


def test_each_exposure_is_the_power_weighted_sum_of_the_led_images() -> None:
    layer = Illumination((3, 4, 4), illumination_patterns=2, learnable=False)
    layer.powers.value.copy_(torch.tensor([[1.0, 0.0, 0.5], [0.2, 0.2, 0.0]]))
    x = torch.rand(2, 3, 4, 4)
    y = layer(x)
    assert y.shape == (2, 2, 4, 4) and layer.out_shape == (2, 4, 4)
    assert torch.allclose(y[:, 0], (x[:, 0] + 0.5 * x[:, 2]) / 3)
    assert torch.allclose(y[:, 1], (0.2 * x[:, 0] + 0.2 * x[:, 1]) / 3)


def test_fixed_patterns() -> None:
    x = torch.rand(2, 4, 5, 5)
    one_each = Illumination((4, 5, 5), illumination_patterns=4, led_powers="one_each")
    assert torch.allclose(one_each(x), x / 4)  # each LED alone: a quarter of the full light
    bright = Illumination((4, 5, 5), illumination_patterns=2, led_powers="all_on")
    assert torch.allclose(bright(x), x.mean(dim=1, keepdim=True).expand(2, 2, 5, 5))
    assert bright(torch.ones(1, 4, 5, 5)).allclose(torch.ones(1, 2, 5, 5))  # full scale is 1


def test_random_powers_are_in_range_and_seeded() -> None:
    def powers(seed: int) -> torch.Tensor:
        return Illumination((5, 4, 4), illumination_patterns=3, led_seed=seed).powers().detach()

    assert ((powers(0) >= 0) & (powers(0) <= 1)).all() and powers(0).shape == (3, 5)
    assert torch.equal(powers(0), powers(0)) and not torch.equal(powers(0), powers(1))


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_project_keeps_every_led_power_between_off_and_full(direction: float) -> None:
    """Brighter (or darker) is always better here: the powers run into 1 (or 0) and stay."""
    layer = Illumination((3, 4, 4), illumination_patterns=2)
    optimizer = torch.optim.SGD(layer.parameters(), lr=5.0)
    for _ in range(10):
        optimizer.zero_grad()
        (-direction * layer(torch.rand(4, 3, 4, 4)).sum()).backward()
        optimizer.step()
        layer.project()
        assert ((layer.powers() >= 0) & (layer.powers() <= 1)).all()
    assert torch.equal(layer.powers().detach(), torch.full((2, 3), float(direction > 0)))


def test_a_one_channel_scene_is_refused() -> None:
    with pytest.raises(ValueError, match=r"2 or more channels\), got 1"):
        Illumination((1, 8, 8))


def test_one_led_each_needs_no_more_patterns_than_leds() -> None:
    with pytest.raises(ValueError, match="illumination_patterns must be at most the 3 LEDs"):
        Illumination((3, 8, 8), illumination_patterns=4, led_powers="one_each")


def test_fixed_illumination_has_no_parameters() -> None:
    layer = Illumination((3, 4, 4), learnable=False)
    assert list(layer.parameters()) == [] and layer.maps()["led_powers"].shape == (1, 3)


def test_gradients_reach_the_scene_and_the_led_powers() -> None:
    layer = Illumination((4, 6, 6), illumination_patterns=2)
    assert_gradients_reach_input_and_parameters(layer, torch.rand(2, 4, 6, 6))


@pytest.mark.parametrize("learnable", [False, True])
def test_state_dict_round_trip(learnable: bool) -> None:
    make = lambda: Illumination((3, 5, 5), illumination_patterns=2, learnable=learnable)  # noqa: E731
    assert_state_dict_round_trip(make, torch.rand(2, 3, 5, 5), perturb=learnable)
