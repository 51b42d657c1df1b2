"""The classification plots' geometry: signed overlays and where a sliding window's map lies."""

from __future__ import annotations

import numpy as np
import pytest

from deepimg.tasks.classify.plots import signed_overlay, window_extent


def test_a_signed_overlay_is_red_where_positive_blue_where_negative_clear_at_zero() -> None:
    values = np.array([[2.0, -1.0], [0.0, 1.0]])
    rgba = signed_overlay(values)
    assert rgba.shape == (2, 2, 4)
    red, blue = rgba[0, 0], rgba[0, 1]
    assert red[0] > red[2] and blue[2] > blue[0]
    # opacity grows with |value| on the map's own scale: 0.85 at the largest magnitude
    assert rgba[..., 3] == pytest.approx(np.array([[0.85, 0.425], [0.0, 0.425]]))
    assert (signed_overlay(np.zeros((2, 2)))[..., 3] == 0).all()  # a flat map: no division by 0


def test_a_window_map_is_centred_on_the_window_centres() -> None:
    """A 20x30 image, 10x10 windows every 5 pixels: map pixels centred at 5, 10, ..., 25 across
    and 5, 10, 15 down, each 5 pixels wide."""
    left, right, bottom, top = window_extent((20, 30), (10, 10), 5)
    assert (left, right) == (2.5, 27.5) and (top, bottom) == (2.5, 17.5)
    columns = (right - left) / 5
    assert columns == (30 - 10) / 5 + 1  # one map pixel per window position
