"""Standardisation: zero mean and unit std per channel on the data it was fitted to, then
fixed, and carried by the state dict."""

from __future__ import annotations

import pytest
import torch

from deepimg.models.standardize import Standardize


def measurements() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(16, 3, 5, 5) * torch.tensor([1.0, 10.0, 0.1]).view(1, 3, 1, 1) + torch.tensor(
        [0.0, -4.0, 2.0]
    ).view(1, 3, 1, 1)


def test_before_fitting_it_is_the_identity() -> None:
    x = measurements()
    assert torch.equal(Standardize(3)(x), x)


def test_after_fitting_each_channel_has_zero_mean_and_unit_std() -> None:
    x = measurements()
    layer = Standardize(3)
    layer.fit(x)
    y = layer(x)
    assert torch.allclose(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-5)


def test_the_statistics_stay_fixed_and_travel_with_the_state_dict() -> None:
    x = measurements()
    layer = Standardize(3)
    layer.fit(x)
    other = x * 3 + 1
    assert not torch.allclose(layer(other).mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-2)
    copy = Standardize(3)
    copy.load_state_dict(layer.state_dict())
    assert torch.equal(copy(other), layer(other))
    assert set(layer.state_dict()) == {"mean", "std"} and not list(layer.parameters())


def test_a_constant_channel_stays_finite() -> None:
    x = torch.full((4, 1, 3, 3), 0.7)
    layer = Standardize(1)
    layer.fit(x)
    assert torch.isfinite(layer(x)).all()
    assert float(layer.std) == pytest.approx(1e-6)
