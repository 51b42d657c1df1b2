"""Foveated pixel layout: the pixel budget is exact, each pixel averages its area, pixels
grow from the centre to the edge, fovea=0 is uniform binning."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.downsample import Downsample
from deepimg.physics.pixel_layout import PixelLayout, foveated_edges


@pytest.mark.parametrize(
    ("shape", "pixels", "fovea"), [((1, 28, 28), 14, 0.5), ((3, 30, 20), 7, 0.8), ((1, 9, 9), 9, 0)]
)
def test_the_sensor_has_exactly_the_pixel_budget(shape: tuple, pixels: int, fovea: float) -> None:
    layer = PixelLayout(shape, pixels=pixels, fovea=fovea)
    x = torch.rand(2, *shape)
    assert layer.sensor_pixels == pixels**2 and f"{pixels**2} pixels" in repr(layer)
    assert layer.sense(x).shape == (2, shape[0], pixels, pixels)
    assert layer.out_shape == shape and layer(x).shape == x.shape
    # The picture for the network holds no more than the readings: R_y S R_x^T has rank <= pixels.
    assert torch.linalg.matrix_rank(layer(x.double())[0, 0]) <= pixels


def test_a_constant_scene_stays_constant() -> None:
    layer = PixelLayout((2, 28, 28), pixels=10, fovea=0.6)
    x = torch.full((1, 2, 28, 28), 0.37)
    assert torch.allclose(layer.sense(x), torch.full((1, 2, 10, 10), 0.37))
    assert torch.allclose(layer(x), x)


def test_each_pixel_reads_the_mean_over_its_area_and_light_is_kept() -> None:
    layer = PixelLayout((1, 20, 20), pixels=6, fovea=0.5)
    x = torch.rand(1, 1, 20, 20, dtype=torch.float64)
    s = layer.sense(x)
    # Independent check: supersample the scene and average the samples inside each pixel.
    sub = 50
    fine = x.repeat_interleave(sub, 2).repeat_interleave(sub, 3)[0, 0]
    centres = (torch.arange(20 * sub, dtype=torch.float64) + 0.5) / sub
    cell = torch.bucketize(centres, foveated_edges(20, 6, 0.5)) - 1  # sensor pixel of each sample
    member = torch.nn.functional.one_hot(cell, 6).T.double()
    member = member / member.sum(dim=1, keepdim=True)
    assert torch.allclose(s[0, 0], member @ fine @ member.T, atol=0.02)
    pitch_y, pitch_x = layer.pixel_pitch
    area = torch.outer(pitch_y, pitch_x).double()
    assert (s[0, 0] * area).sum().item() == pytest.approx(x.sum().item(), rel=1e-5)
    assert layer(x).sum().item() == pytest.approx(x.sum().item(), rel=1e-5)


@pytest.mark.parametrize("pixels", [4, 7, 14, 28])
def test_no_fovea_is_uniform_binning(pixels: int) -> None:
    x = torch.rand(3, 2, 28, 28)
    layer = PixelLayout((2, 28, 28), pixels=pixels, fovea=0)
    assert torch.allclose(layer.sense(x), Downsample((2, 28, 28), pixels=pixels)(x), atol=1e-6)
    uniform = Downsample((2, 28, 28), pixels=pixels, resize_back=True)(x)
    assert torch.allclose(layer(x), uniform, atol=1e-6)


@pytest.mark.parametrize("fovea", [0.2, 0.5, 0.9])
def test_pixels_are_smaller_in_the_centre_than_at_the_edge(fovea: float) -> None:
    layer = PixelLayout((1, 40, 30), pixels=10, fovea=fovea)
    for pitch, length in zip(layer.pixel_pitch, (40, 30), strict=True):
        assert pitch.sum().item() == pytest.approx(length, rel=1e-5)
        half = pitch[5:]  # centre to edge
        assert (half.diff() > 0).all() and torch.allclose(pitch, pitch.flip(0))
    area = layer.maps()["pixel_area"]
    assert area.shape == (40, 30) and area[0, 0] > area[20, 15]
    # With many pixels, the centre ones tend to (1 - fovea) times the uniform pitch and the
    # edge ones to (1 + 2 fovea) times it.
    pitch = PixelLayout((1, 200, 200), pixels=100, fovea=fovea).pixel_pitch[0] / 2
    assert pitch[50].item() == pytest.approx(1 - fovea, rel=0.01)
    assert pitch[-1].item() == pytest.approx(1 + 2 * fovea, rel=0.03)


def test_maps_draw_the_pixel_grid() -> None:
    grid = PixelLayout((1, 28, 28), pixels=7, fovea=0).maps()["pixel_grid"]
    assert grid[0, 0] == 0 and grid[0, 4] == 1 and grid[4, 4] == 0  # 4x4-pixel checkerboard


def test_gradients_reach_the_scene() -> None:
    x = torch.rand(2, 1, 16, 16, requires_grad=True)
    PixelLayout((1, 16, 16), pixels=5, fovea=0.4)(x).pow(2).sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad.abs() > 0).all()


@pytest.mark.parametrize(
    ("pixels", "fovea", "message"),
    [(0, 0.5, "pixels=0"), (29, 0.5, "pixels=29"), (7, 1.0, "fovea=1.0"), (7, -0.1, "fovea=-0.1")],
)
def test_bad_values_are_refused(pixels: int, fovea: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PixelLayout((1, 28, 28), pixels=pixels, fovea=fovea)


def test_learned_boundaries_stay_monotone_with_the_same_pixel_count_after_a_large_step() -> None:
    layer = PixelLayout((1, 28, 28), pixels=7, fovea=0.3, learnable=True)
    optimizer = torch.optim.Adam(layer.parameters(), lr=10.0)
    for _ in range(3):
        optimizer.zero_grad()
        (layer(torch.rand(2, 1, 28, 28)) * torch.randn(2, 1, 28, 28)).sum().backward()
        optimizer.step()
    for axis, edges in zip("yx", layer.edges(), strict=True):
        assert (getattr(layer, f"widths_{axis}").design() > 0).all()  # every pixel keeps a width
        assert len(edges) == 8 and (edges.diff() >= 0).all()  # (one of 1e-21 adds nothing to 28)
        length = 28
        assert edges[0].item() == 0 and edges[-1].item() == pytest.approx(length)
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(layer(x).sum(dim=(2, 3)), x.sum(dim=(2, 3)), rtol=1e-4)  # light kept


def test_learned_pixels_get_smaller_where_the_detail_is() -> None:
    """Scenes with fine texture in their top rows only: learning to reproduce them through 7
    pixels a side moves the row boundaries up, so the top pixels end up the smallest."""
    torch.manual_seed(0)
    layer = PixelLayout((1, 28, 28), pixels=7, fovea=0.0, learnable=True)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(150):
        x = torch.full((8, 1, 28, 28), 0.5)
        x[:, :, :8] = torch.rand(8, 1, 8, 28)  # detail in rows 0..7
        optimizer.zero_grad()
        (layer(x) - x).pow(2).mean().backward()
        optimizer.step()
    pitch_y, pitch_x = layer.pixel_pitch
    assert pitch_y[0] < 0.75 * 4 and pitch_y[-1] > 4  # uniform pitch: 4 scene pixels
    assert pitch_y[:2].sum() < pitch_y[-2:].sum()
    (grid,) = layer.grids()["pixel_edges"]
    assert torch.allclose(grid[0], layer.edges()[0])
