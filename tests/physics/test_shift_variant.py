"""Shift-variant blur: the weights are a partition of unity, equal PSFs give the ordinary blur,
the blur grows from the centre to the corners, light is kept."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics import psf as psfs
from deepimg.physics.blur import Blur
from deepimg.physics.shift_variant import ShiftVariantBlur, grid_weights
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)


@pytest.mark.parametrize("blend", ["tiled", "smooth"])
@pytest.mark.parametrize(("grid", "shape"), [(1, (1, 8, 8)), (2, (2, 12, 10)), (3, (1, 28, 28))])
def test_weights_are_a_partition_of_unity(blend: str, grid: int, shape: tuple) -> None:
    w = ShiftVariantBlur(shape, psf_grid=grid, psf_blend=blend).weights
    assert w.shape == (grid**2, *shape[1:])
    assert (w >= 0).all() and torch.allclose(w.sum(dim=0), torch.ones(shape[1:]))


def test_tiles_are_hard_and_smooth_weights_interpolate_between_centres() -> None:
    tiled = grid_weights(12, 3, "tiled")
    assert torch.equal(tiled[1], (torch.arange(12) // 4 == 1).double())
    smooth = grid_weights(12, 3, "smooth")  # centres at pixels 1.5, 5.5, 9.5
    assert torch.equal(smooth[:, :2], tiled[:, :2])  # the nearest cell alone beyond the centres
    assert smooth[0, 3] == pytest.approx(1 - (3 - 1.5) / 4) == 1 - smooth[1, 3]  # linear
    assert (smooth[0].diff() <= 0).all() and (smooth[2].diff() >= 0).all()


def test_sigma_grows_with_the_square_of_field_height() -> None:
    layer = ShiftVariantBlur((1, 27, 27), psf_grid=3, sigma_center=0.5, sigma_edge=2.5)
    sigma = torch.tensor(layer.sigmas).view(3, 3)
    assert sigma[1, 1] == 0.5 and (sigma[[0, 0, 2, 2], [0, 2, 0, 2]] == 2.5).all()
    assert sigma[0, 1] == pytest.approx(1.5)  # half the corner's squared field height


@pytest.mark.parametrize("blend", ["tiled", "smooth"])
@pytest.mark.parametrize("pad_mode", ["reflect", "zeros"])
def test_equal_psfs_give_the_shift_invariant_blur(blend: str, pad_mode: str) -> None:
    x = torch.rand(3, 2, 20, 20)
    layer = ShiftVariantBlur((2, 20, 20), psf_grid=3, psf_blend=blend, sigma_center=1.5,
                             sigma_edge=1.5, pad_mode=pad_mode)  # fmt: skip
    assert torch.allclose(layer(x), Blur((2, 20, 20), sigma=1.5, pad_mode=pad_mode)(x), atol=1e-6)


@pytest.mark.parametrize("blend", ["tiled", "smooth"])
def test_delta_psfs_are_the_identity(blend: str) -> None:
    x = torch.rand(2, 3, 16, 16)
    layer = ShiftVariantBlur((3, 16, 16), psf_blend=blend, sigma_center=0, sigma_edge=0, psf_size=5)
    assert torch.allclose(layer(x), x, atol=1e-6)


def test_a_star_is_blurred_more_in_the_corner_than_in_the_centre() -> None:
    layer = ShiftVariantBlur((1, 27, 27), psf_grid=3, psf_blend="tiled", sigma_center=0.5,
                             sigma_edge=2.0, psf_size=9, pad_mode="zeros")  # fmt: skip
    stars = torch.zeros(2, 1, 27, 27)
    stars[0, 0, 13, 13] = 1  # centre of the middle tile
    stars[1, 0, 4, 4] = 1  # centre of the top-left tile
    y = layer(stars)
    assert torch.allclose(y[0, 0, 9:18, 9:18], psfs.gaussian(0.5, 9).float(), atol=1e-6)
    assert torch.allclose(y[1, 0, 0:9, 0:9], psfs.gaussian(2.0, 9).float(), atol=1e-6)


@pytest.mark.parametrize("blend", ["tiled", "smooth"])
def test_circular_padding_keeps_the_light(blend: str) -> None:
    x = torch.rand(4, 1, 24, 24)
    y = ShiftVariantBlur((1, 24, 24), psf_blend=blend, pad_mode="circular")(x)
    assert torch.allclose(y.sum(dim=(2, 3)), x.sum(dim=(2, 3)), rtol=1e-5)


def test_learned_psfs_stay_psfs_get_gradients_and_round_trip() -> None:
    def make() -> ShiftVariantBlur:
        return ShiftVariantBlur((2, 12, 12), psf_grid=2, sigma_center=0.5, sigma_edge=1.0,
                                learnable=True)  # fmt: skip

    x = torch.rand(2, 2, 12, 12)
    assert_gradients_reach_input_and_parameters(make(), x)
    assert_state_dict_round_trip(make, x)
    layer = make()
    with torch.no_grad():
        layer.psfs.latent.add_(torch.randn_like(layer.psfs.latent))
    h = layer.psfs()
    assert (h >= 0).all() and torch.allclose(h.sum(dim=(1, 2)), torch.ones(4))
    maps = layer.maps()
    assert maps["psfs"].shape == (2 * 7, 2 * 7) and maps["weights"].shape == (4, 12, 12)
    assert torch.equal(maps["psfs"][7:, :7], h[2].detach())  # bottom-left PSF in its place


def test_a_grid_finer_than_the_scene_is_refused() -> None:
    with pytest.raises(ValueError, match="psf_grid=8 is larger than the scene"):
        ShiftVariantBlur((1, 6, 6), psf_grid=8)
