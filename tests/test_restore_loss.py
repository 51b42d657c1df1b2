"""The restoration task's tone-mapped losses (mu-law, gamma): zero exactly when the prediction
is the target, growing as it moves away, and weighing dark errors more than bright ones."""

from __future__ import annotations

import pytest
import torch

from deepimg.tasks.restore.task import Restore, gamma_curve, mu_law

TONE_MAPPED = ["mu_law", "gamma"]


def task(loss: str, data_range: float = 1.0) -> Restore:
    restore = Restore(loss=loss)
    restore.data_range = data_range  # as bind() sets it from an HDR dataset
    return restore


@pytest.mark.parametrize("loss", TONE_MAPPED)
def test_the_loss_is_zero_exactly_when_the_prediction_is_the_target(loss: str) -> None:
    torch.manual_seed(0)
    target = 4 * torch.rand(2, 3, 8, 8)
    restore = task(loss, data_range=4.0)
    assert restore.loss(target.clone(), target).item() == 0
    for delta in (1e-4, 0.01, 1.0):
        moved = target.clone()
        moved[0, 1, 2, 3] += delta
        assert restore.loss(moved, target).item() > 0


@pytest.mark.parametrize("loss", TONE_MAPPED)
def test_the_loss_grows_as_the_prediction_moves_away_on_either_side(loss: str) -> None:
    target = torch.full((1, 1, 1, 1), 0.3)
    restore = task(loss)
    steps = torch.linspace(0, 0.29, 30)
    above = [restore.loss(target + s, target).item() for s in steps]
    below = [restore.loss(target - s, target).item() for s in steps]
    assert all(a < b for a, b in zip(above, above[1:], strict=False))
    assert all(a < b for a, b in zip(below, below[1:], strict=False))
    negative = [restore.loss(target - s, target).item() for s in (0.3, 0.5, 1.0)]
    assert negative == sorted(negative) and negative[0] < negative[1]  # below 0 costs too


@pytest.mark.parametrize("curve", [lambda x: mu_law(x, 5000.0), lambda x: gamma_curve(x, 2.2)])
def test_the_tone_curves_are_odd_increasing_from_0_to_1(curve) -> None:
    x = torch.linspace(-2, 2, 401, dtype=torch.float64)
    y = curve(x)
    assert (y.diff() > 0).all() and torch.allclose(curve(-x), -y)
    assert curve(torch.tensor(0.0)).item() == 0 and curve(
        torch.tensor(1.0)
    ).item() == pytest.approx(1)


@pytest.mark.parametrize("loss", TONE_MAPPED)
def test_dark_errors_weigh_more_than_bright_ones_and_gradients_are_finite(loss: str) -> None:
    restore = task(loss, data_range=10.0)
    dark, bright = torch.full((1, 1, 1, 1), 0.05), torch.full((1, 1, 1, 1), 5.0)
    assert restore.loss(dark + 0.01, dark) > 5 * restore.loss(bright + 0.01, bright)
    prediction = torch.zeros(1, 1, 4, 4, requires_grad=True)  # black: the curves' steepest
    restore.loss(prediction, torch.rand(1, 1, 4, 4)).backward()
    assert torch.isfinite(prediction.grad).all() and prediction.grad.abs().sum() > 0


def test_the_default_loss_is_still_l1() -> None:
    restore = Restore()
    x, y = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    assert restore.loss_name == "l1"
    assert torch.equal(restore.loss(x, y), torch.nn.functional.l1_loss(x, y))
