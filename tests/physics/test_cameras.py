"""Several cameras: the identity for one camera at full resolution, whole-pixel shifts, grid
offsets, offsets kept in range, and more cameras seeing more of the scene."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.cameras import Cameras, grid_offsets


def shifted(layer: Cameras, offsets: list[list[float]]) -> Cameras:
    with torch.no_grad():
        layer.offsets.value.copy_(torch.tensor(offsets))
    return layer


def test_one_camera_at_offset_zero_with_the_scenes_pixels_is_the_identity() -> None:
    x = torch.rand(2, 3, 10, 12)
    layer = Cameras((3, 10, 12), cameras=1, camera_pixels=10)
    assert layer.out_shape == (3, 10, 10)
    square = torch.rand(2, 3, 10, 10)
    layer = Cameras((3, 10, 10), cameras=1, camera_pixels=10)
    assert torch.allclose(layer(square), square, atol=1e-6)
    assert torch.allclose(layer.to_scene(layer(square)), square, atol=1e-6)
    assert x.shape[1:] == (3, 10, 12)


def test_a_shift_of_one_whole_pixel_moves_the_image_by_one_pixel() -> None:
    x = torch.rand(2, 1, 8, 8)
    layer = shifted(Cameras((1, 8, 8), cameras=1, camera_pixels=8, offset_range=1.0), [[1.0, 0.0]])
    y = layer(x)
    assert torch.allclose(y[:, :, :-1], x[:, :, 1:], atol=1e-6)  # camera row a sees scene row a+1
    assert torch.equal(y[:, :, -1], torch.zeros_like(y[:, :, -1]))  # beyond the scene: dark
    half = shifted(Cameras((1, 8, 8), cameras=1, camera_pixels=8), [[0.0, 0.5]])(x)
    assert torch.allclose(half[..., :-1], (x[..., :-1] + x[..., 1:]) / 2, atol=1e-6)


def test_grid_offsets_spread_evenly_over_one_camera_pixel() -> None:
    assert grid_offsets(1).tolist() == [[0.0, 0.0]]
    four = grid_offsets(4)
    assert sorted(map(tuple, four.tolist())) == [
        (-0.25, -0.25),
        (-0.25, 0.25),
        (0.25, -0.25),
        (0.25, 0.25),
    ]
    eight = grid_offsets(8)
    assert len({tuple(o) for o in eight.tolist()}) == 8 and eight.abs().max() < 0.5


def test_each_camera_keeps_the_light_of_what_it_covers() -> None:
    x = torch.rand(3, 1, 28, 28)
    y = Cameras((1, 28, 28), cameras=4, camera_pixels=7)(x)
    assert y.shape == (3, 4, 7, 7)
    # Every camera is shifted a quarter pixel at most: it loses at most that border's light.
    per_camera = y.mean(dim=(2, 3))
    assert torch.allclose(per_camera, x.mean(dim=(1, 2, 3))[:, None], atol=0.05)
    zero = Cameras((1, 28, 28), cameras=1, camera_pixels=7)(x)  # 4x4 binning, exactly
    assert torch.allclose(zero, torch.nn.functional.avg_pool2d(x, 4), atol=1e-6)


def test_offsets_stay_in_their_range_after_a_large_step() -> None:
    layer = Cameras((1, 16, 16), cameras=3, camera_pixels=4, offsets="random", offset_range=0.4,
                    learnable=True)  # fmt: skip
    optimizer = torch.optim.SGD(layer.parameters(), lr=1e4)
    (layer(torch.rand(2, 1, 16, 16)) * torch.randn(2, 3, 4, 4)).sum().backward()
    assert layer.offsets.latent.grad.abs().sum() > 0
    optimizer.step()
    layer.project()
    largest = layer.offsets.design().abs().max()  # float32, as the bound is there
    assert largest <= 0.4 and largest.item() == pytest.approx(0.4)


def operator(layer: Cameras) -> torch.Tensor:
    """The layer as a matrix: one column per scene pixel (the response to that pixel alone)."""
    _, h, w = layer.in_shape
    return layer(torch.eye(h * w).view(h * w, 1, h, w)).flatten(1).T


def test_cameras_on_a_grid_measure_independent_combinations_of_the_scene() -> None:
    """Four 7x7 cameras a quarter pixel apart measure 4 x 49 independent combinations of the
    28x28 scene; four cameras at the same place measure the same 49 again."""
    one = Cameras((1, 28, 28), cameras=1, camera_pixels=7)
    grid = Cameras((1, 28, 28), cameras=4, camera_pixels=7)
    same = shifted(Cameras((1, 28, 28), cameras=4, camera_pixels=7), [[0.0, 0.0]] * 4)
    ranks = [torch.linalg.matrix_rank(operator(layer)).item() for layer in (one, grid, same)]
    assert ranks == [49, 196, 49]


def test_camera_pixels_beyond_the_scene_are_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"camera_pixels=40 is more than the scene has \(28x28\); choose camera_pixels in 1..28",
    ):
        Cameras((1, 28, 28), camera_pixels=40)


def test_the_grids_are_each_cameras_pixel_edges() -> None:
    (grids,) = Cameras((1, 28, 28), cameras=4, camera_pixels=7).grids().values()
    assert len(grids) == 4
    rows, cols = grids[0]
    assert rows.shape == cols.shape == (8,) and torch.allclose(rows.diff(), torch.full((7,), 4.0))


def test_each_camera_may_have_its_own_lens() -> None:
    x = torch.rand(2, 1, 12, 12)
    layer = Cameras((1, 12, 12), cameras=2, camera_pixels=12, camera_sigma=[0.0, 1.5])
    shifted(layer, [[0.0, 0.0], [0.0, 0.0]])
    y = layer(x)
    assert torch.allclose(y[:, 0], x[:, 0], atol=1e-6)  # the first camera is sharp
    blurred = Cameras((1, 12, 12), cameras=1, camera_pixels=12, camera_sigma=1.5)
    assert torch.allclose(y[:, 1], shifted(blurred, [[0.0, 0.0]])(x)[:, 0], atol=1e-6)
    with pytest.raises(ValueError, match="camera_sigma has 3 values for 2 cameras"):
        Cameras((1, 12, 12), cameras=2, camera_sigma=[0.5, 1.0, 1.5])


def test_rendered_cameras_are_their_shift_and_add_at_the_scenes_size() -> None:
    x = torch.rand(2, 1, 28, 28)
    stacked = Cameras((1, 28, 28), cameras=4, camera_pixels=7)
    rendered = Cameras((1, 28, 28), cameras=4, camera_pixels=7, render=True)
    assert rendered.out_shape == (1, 28, 28)
    assert torch.allclose(rendered(x), stacked.to_scene(stacked(x)), atol=1e-6)
    assert torch.equal(rendered.to_scene(rendered(x)), rendered(x))
