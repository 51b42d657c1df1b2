"""Scenes on a canvas: the target is the object's centre, positions are seeded, nothing is cut."""

from __future__ import annotations

import pytest
import torch

from deepimg.data.canvas import Canvas
from deepimg.data.datamodule import InMemoryImages
from deepimg.data.digits import Digits
from deepimg.errors import UserError


def dot_scenes(n: int, size: int = 5) -> torch.Tensor:
    """``n`` odd-sized scenes, black but for one bright pixel at their centre."""
    images = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    images[:, :, size // 2, size // 2] = 255
    return images


def test_the_object_centre_is_where_the_target_says_to_the_pixel() -> None:
    canvas = Canvas(size=21)
    images = dot_scenes(50)
    tops = canvas.top_left(50, (5, 5), seed=0)
    data = InMemoryImages(images, torch.zeros(50), 255, canvas=canvas, tops=tops)
    scenes, _, extras = data[list(range(50))]
    for scene, centre in zip(scenes, extras["position"], strict=True):
        peak = divmod(int(scene[0].argmax()), 21)
        assert torch.equal(centre, torch.tensor(peak, dtype=torch.float32))


def test_positions_are_seeded_and_the_object_is_never_cut() -> None:
    canvas = Canvas(size=12)
    tops = canvas.top_left(2000, (8, 8), seed=3)
    assert torch.equal(tops, canvas.top_left(2000, (8, 8), seed=3))
    assert not torch.equal(tops, canvas.top_left(2000, (8, 8), seed=4))
    assert tops.min() == 0 and tops.max() == 12 - 8  # every position, and none beyond the edge
    images = torch.randint(1, 256, (2000, 1, 8, 8), dtype=torch.uint8)
    data = InMemoryImages(images, torch.zeros(2000), 255, canvas=canvas, tops=tops)
    scenes, _, _ = data[list(range(2000))]
    whole = images.float().div(255).sum(dim=(1, 2, 3))
    assert torch.allclose(scenes.sum(dim=(1, 2, 3)), whole)  # all of each scene is on its canvas


@pytest.mark.parametrize("background", ["noise", "clutter"])
def test_backgrounds_are_seeded_and_stay_in_range(background: str) -> None:
    data = Digits(canvas=20, background=background, background_level=0.2)
    first, _ = data.scenes("test", 16)
    again, _ = data.scenes("test", 16)
    assert torch.equal(first, again)
    assert first.min() >= 0 and first.max() <= 1
    # beyond the object, the background is not black
    assert (first > 0).float().mean() > (Digits(canvas=20).scenes("test", 16)[0] > 0).float().mean()


def test_the_in_shape_is_the_canvas_and_a_small_canvas_is_refused() -> None:
    assert Digits(canvas=30).in_shape == (1, 30, 30)
    with pytest.raises(UserError, match="canvas=6 is smaller than the 8x8 scenes"):
        Digits(canvas=6).setup()
