"""Masks: exactly K active pixels in every layout and mode; learned masks harden and learn."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.functional import soft_mask, top_k_mask
from deepimg.physics.mask import Mask
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)

SHAPES = [(1, 28, 28), (3, 12, 20)]


def active(layer: Mask) -> torch.Tensor:
    """The mask the layer applies now, read off its output on a white scene."""
    return layer(torch.ones(1, *layer.in_shape))[0, 0]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layout", ["random", "grid"])
@pytest.mark.parametrize("k", [1, 7, 10, 49, 100, 196, 239, 240])
def test_fixed_layouts_have_exactly_k_ones_in_train_and_eval(shape, layout: str, k: int) -> None:
    layer = Mask(shape, active_pixels=k, layout=layout)
    for mode in (layer.train, layer.eval):
        mode()
        mask = active(layer)
        assert ((mask == 0) | (mask == 1)).all() and mask.sum() == k
    assert layer.maps()["mask"].sum() == k


@pytest.mark.parametrize("relaxation", ["topk", "sigmoid"])
def test_learned_mask_has_exactly_k_ones_in_eval_even_after_its_scores_move(relaxation) -> None:
    layer = Mask((2, 16, 16), active_pixels=50, learnable=True, relaxation=relaxation).eval()
    for scale in (0.0, 0.1, 10.0):
        with torch.no_grad():
            layer.mask.latent.add_(scale * torch.randn_like(layer.mask.latent))
        mask = active(layer)
        assert ((mask == 0) | (mask == 1)).all() and mask.sum() == 50
        assert torch.equal(mask, top_k_mask(layer.mask.latent, 50))


def test_topk_relaxation_trains_on_the_hard_mask_itself() -> None:
    layer = Mask((1, 16, 16), active_pixels=50, learnable=True, relaxation="topk").train()
    with torch.no_grad():
        layer.mask.latent.copy_(torch.randn(16, 16))
    assert torch.equal(active(layer), top_k_mask(layer.mask.latent, 50))


def test_top_k_keeps_exactly_k_even_with_ties() -> None:
    assert top_k_mask(torch.zeros(5, 5), 7).sum() == 7


def test_every_channel_sees_the_same_mask_and_inactive_pixels_read_zero() -> None:
    layer = Mask((3, 10, 10), active_fraction=0.3, layout="random")
    x = torch.rand(4, 3, 10, 10)
    y = layer(x)
    assert y.shape == x.shape and layer.out_shape == (3, 10, 10)
    assert torch.equal(y, x * layer.mask())
    assert layer.mask().sum() == 30


def test_grid_is_a_regular_lattice_when_k_allows_one() -> None:
    mask = Mask((1, 28, 28), active_pixels=196, layout="grid").mask()
    expected = torch.zeros(28, 28)
    expected[1::2, 1::2] = 1  # every other pixel, at the centres of 2x2 cells
    assert torch.equal(mask, expected)


def test_trimmed_grid_stays_spread_out() -> None:
    mask = Mask((1, 28, 28), active_pixels=10, layout="grid").mask()  # a 4x3 lattice, 2 dropped
    points = mask.nonzero().float()
    distances = torch.cdist(points, points) + 1e9 * torch.eye(len(points))
    assert mask.sum() == 10 and distances.min() >= 7  # no two points closer than a cell


def test_random_layout_is_reproducible_by_seed() -> None:
    def mask(seed: int) -> torch.Tensor:
        return Mask((1, 20, 20), active_pixels=40, mask_seed=seed).mask()

    assert torch.equal(mask(3), mask(3))
    assert not torch.equal(mask(3), mask(4))


@pytest.mark.parametrize("k", [785, 10_000])
def test_k_outside_one_to_the_pixel_count_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match=r"active_pixels=.*1\.\.784"):
        Mask((1, 28, 28), active_pixels=k)


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_refused_by_its_annotation(k: int) -> None:
    with pytest.raises(
        ValueError, match=rf"active_pixels={k} is not accepted; expected an integer in 1\.\.inf"
    ):
        Mask((1, 28, 28), active_pixels=k)


def test_a_fraction_too_small_for_one_pixel_is_refused() -> None:
    with pytest.raises(ValueError, match="active_fraction"):
        Mask((1, 8, 8), active_fraction=0.001)


@pytest.mark.parametrize("relaxation", ["topk", "sigmoid"])
def test_gradients_reach_the_scene_and_the_scores(relaxation: str) -> None:
    layer = Mask((2, 8, 8), active_pixels=16, learnable=True, relaxation=relaxation)
    assert_gradients_reach_input_and_parameters(layer, torch.rand(3, 2, 8, 8))


@pytest.mark.parametrize("layout", ["random", "grid", "learned"])
def test_state_dict_round_trip(layout: str) -> None:
    x = torch.rand(2, 1, 9, 9)
    make = lambda: Mask((1, 9, 9), active_pixels=20, layout=layout, mask_seed=5)  # noqa: E731
    assert_state_dict_round_trip(make, x, perturb=layout == "learned")


def test_soft_mask_spends_exactly_the_budget_and_its_gradient_keeps_it() -> None:
    scores = torch.randn(12, 12, requires_grad=True)
    for temperature in (1.0, 10.0, 100.0):
        soft = soft_mask(scores, 30, temperature)
        assert ((soft >= 0) & (soft <= 1)).all()
        assert soft.sum().item() == pytest.approx(30, abs=1e-3)
    soft_mask(scores, 30, 3.0).sum().backward()
    assert scores.grad.abs().max() < 1e-5  # moving the scores never changes the total light


def test_sigmoid_temperature_rises_and_the_soft_mask_approaches_the_hard_one() -> None:
    torch.manual_seed(0)
    layer = Mask((1, 16, 16), active_pixels=40, learnable=True, relaxation="sigmoid")
    with torch.no_grad():
        layer.mask.latent.copy_(torch.randn(16, 16))  # scores spread as after some training
    hard = layer.mask.design()
    distances, temperatures = [], []
    for progress in (0.0, 0.25, 0.5, 0.75, 1.0):
        layer.anneal(progress)
        temperatures.append(layer.mask.temperature.item())
        distances.append((active(layer.train()) - hard).abs().mean().item())
    assert temperatures[0] == 1 and temperatures[-1] == pytest.approx(100)
    assert all(a < b for a, b in zip(temperatures, temperatures[1:], strict=False))
    assert all(a > b for a, b in zip(distances, distances[1:], strict=False))
    assert distances[-1] < 0.1 * distances[0]
    assert torch.equal(layer.maps()["mask"], hard) and layer.maps()["mask_soft"].shape == (16, 16)


@pytest.mark.parametrize("spread", [0.01, 1.0, 30.0])
def test_fully_annealed_soft_mask_is_nearly_hard_whatever_the_scores_scale(spread: float) -> None:
    """Training ends on (almost) the mask it is tested with: in a Fashion-MNIST run the
    scores (started 0.01 apart) ended with a standard deviation of 0.08, and an unscaled
    temperature of 100 left 39% of the light on inactive pixels (test accuracy 0.25-0.39)."""
    torch.manual_seed(1)
    layer = Mask((1, 28, 28), active_pixels=78, learnable=True, relaxation="sigmoid")
    with torch.no_grad():
        layer.mask.latent.copy_(spread * torch.randn(28, 28))
    layer.anneal(1.0)
    soft, hard = active(layer.train()), layer.mask.design()
    assert (soft * (1 - hard)).sum() < 0.05 * 78  # light on pixels the test mask turns off


@pytest.mark.parametrize("relaxation", ["topk", "sigmoid"])
def test_learned_mask_moves_to_where_the_signal_is(relaxation: str) -> None:
    """Rewarding light from row 3 only: the K = 8 active pixels end up on row 3."""
    torch.manual_seed(0)
    layer = Mask((1, 8, 8), active_pixels=8, learnable=True, relaxation=relaxation)
    weight = -torch.ones(8, 8)
    weight[3] = 1
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    for step in range(60):
        layer.anneal(step / 60)
        optimizer.zero_grad()
        (-(layer(torch.rand(4, 1, 8, 8)) * weight).sum()).backward()
        optimizer.step()
    layer.eval()
    assert torch.equal(layer.mask(), (weight > 0).float())
