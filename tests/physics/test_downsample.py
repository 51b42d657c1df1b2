"""Downsampling: output shapes, pixel integration, aliasing without it."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.downsample import Downsample


@pytest.mark.parametrize(
    ("pixels", "shape"),
    [(4, (1, 4, 4)), (7, (1, 7, 7)), (14, (1, 14, 14)), (28, (1, 28, 28)), (10, (1, 10, 10))],
)
def test_pixels_sets_the_sensor_size(pixels: int, shape: tuple) -> None:
    layer = Downsample((1, 28, 28), pixels=pixels)
    assert layer.out_shape == shape and layer(torch.rand(2, 1, 28, 28)).shape == (2, *shape)


def test_factor_bins_and_wins_over_pixels() -> None:
    layer = Downsample((3, 28, 28), pixels=14, factor=4)
    assert layer.out_shape == (3, 7, 7)


def test_each_pixel_integrates_its_area() -> None:
    x = torch.rand(1, 1, 8, 8)
    y = Downsample((1, 8, 8), factor=2)(x)
    assert torch.allclose(y[0, 0, 1, 2], x[0, 0, 2:4, 4:6].mean())
    assert torch.allclose(y.mean(), x.mean())  # light is conserved


def test_point_sampling_aliases_a_fine_grating() -> None:
    stripes = torch.zeros(1, 1, 16, 16)
    stripes[..., ::2] = 1  # one-pixel stripes
    assert torch.allclose(Downsample((1, 16, 16), factor=2)(stripes), torch.full((1, 1, 8, 8), 0.5))
    sampled = Downsample((1, 16, 16), factor=2, antialias=False)(stripes)
    assert sampled.unique().numel() == 1 and sampled.unique().item() in (0.0, 1.0)  # all or nothing


def test_resize_back_keeps_the_scene_size_and_the_sensor_information() -> None:
    layer = Downsample((1, 28, 28), pixels=7, resize_back=True)
    y = layer(torch.rand(2, 1, 28, 28))
    assert layer.out_shape == (1, 28, 28) and y.shape == (2, 1, 28, 28)
    assert y[0, 0].unique().numel() <= 49


def test_gradient_reaches_the_scene() -> None:
    x = torch.rand(2, 1, 28, 28, requires_grad=True)
    Downsample((1, 28, 28), pixels=7)(x).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, 1 / 16))


def test_a_sensor_finer_than_the_scene_is_refused() -> None:
    with pytest.raises(ValueError, match="pixels=40 is more than the scene has"):
        Downsample((1, 28, 28), pixels=40)
