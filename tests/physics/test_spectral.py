"""Spectral channels: the mixing equation, band binning, valid filters while learning."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.spectral import Spectral, band_binning
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)


def test_output_is_the_hand_computed_mix_of_the_bands() -> None:
    layer = Spectral((3, 4, 5), spectral_weights=[[1, 1, 0], [0, 0, 2]])  # rows rescaled to sum 1
    x = torch.rand(2, 3, 4, 5)
    y = layer(x)
    assert y.shape == (2, 2, 4, 5) and layer.out_shape == (2, 4, 5)
    assert torch.allclose(y[:, 0], (x[:, 0] + x[:, 1]) / 2)
    assert torch.allclose(y[:, 1], x[:, 2])


def test_band_binning_covers_each_output_band_by_its_share_of_input_bands() -> None:
    assert torch.equal(band_binning(3, 3), torch.eye(3))
    assert torch.allclose(band_binning(1, 4), torch.full((1, 4), 0.25))
    assert torch.allclose(band_binning(2, 4), torch.tensor([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]]))
    # The middle one of three channels straddles both of two bands equally.
    assert torch.allclose(band_binning(3, 2), torch.tensor([[1, 0], [0.5, 0.5], [0, 1]]))
    for k, c in [(5, 3), (3, 7), (8, 8)]:
        weights = band_binning(k, c)
        assert (weights >= 0).all() and torch.allclose(weights.sum(dim=1), torch.ones(k))


def test_default_is_the_identity_and_a_white_scene_reads_one_in_every_channel() -> None:
    x = torch.rand(2, 3, 6, 6)
    assert torch.allclose(Spectral((3, 6, 6))(x), x)
    for k in (1, 2, 5):
        layer = Spectral((3, 6, 6), spectral_channels=k)
        assert layer(torch.ones(1, 3, 6, 6)).allclose(torch.ones(1, k, 6, 6))


def test_one_channel_scenes_give_copies() -> None:
    x = torch.rand(2, 1, 5, 5)
    assert torch.allclose(Spectral((1, 5, 5), spectral_channels=3)(x), x.expand(2, 3, 5, 5))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spectral_weights": [[1, 0], [0, 1]]}, "rows of 3 numbers"),
        (
            {"spectral_weights": [1, 0, 0]},
            r"spectral_weights=\[1, 0, 0\] is not accepted; expected a list of rows",
        ),
        ({"spectral_weights": [[1, -0.5, 0]]}, "non-negative"),
        ({"spectral_weights": [[0, 0, 0]]}, "non-negative"),
        ({"spectral_weights": [[1, 0, 0]], "spectral_channels": 2}, "spectral_channels=2"),
    ],
)
def test_invalid_weights_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Spectral((3, 4, 4), **kwargs)


def test_learned_filters_stay_non_negative_normalised_and_move_to_the_target() -> None:
    torch.manual_seed(0)
    # It starts as the bins [.5, .5, 0, 0] and [0, 0, .5, .5]: 1 away from the target.
    layer = Spectral((4, 6, 6), spectral_channels=2, learnable=True)
    target = torch.tensor([[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.5)  # large steps push weights down
    for _ in range(15):
        x = torch.rand(8, 4, 6, 6)
        optimizer.zero_grad()
        ((layer(x) - torch.einsum("kc,bchw->bkhw", target, x)) ** 2).mean().backward()
        optimizer.step()
        layer.project()
        assert (layer.weights() >= 0).all()
        assert torch.allclose(layer.weights().sum(dim=1), torch.ones(2))
    assert (layer.weights() - target).abs().max() < 0.05


def test_gradients_reach_the_scene_and_the_filters() -> None:
    layer = Spectral((3, 5, 5), spectral_channels=2, learnable=True)
    assert_gradients_reach_input_and_parameters(layer, torch.rand(2, 3, 5, 5))


@pytest.mark.parametrize("learnable", [False, True])
def test_state_dict_round_trip(learnable: bool) -> None:
    make = lambda: Spectral((3, 5, 5), spectral_channels=4, learnable=learnable)  # noqa: E731
    assert_state_dict_round_trip(make, torch.rand(2, 3, 5, 5), perturb=learnable)


def test_maps_show_the_filter_matrix() -> None:
    weights = Spectral((3, 4, 4), spectral_weights=[[1, 2, 1]]).maps()["spectral_weights"]
    assert torch.allclose(weights, torch.tensor([[0.25, 0.5, 0.25]]))
