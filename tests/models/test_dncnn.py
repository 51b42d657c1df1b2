"""DnCNN: full-resolution maps of ``out_channels``, a receptive field of 2 * depth + 1 pixels,
and a zero start."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.dncnn import DnCNN


@pytest.mark.parametrize("in_shape", [(1, 8, 8), (3, 7, 10)])
def test_it_gives_a_map_of_out_channels_at_the_input_size(in_shape) -> None:
    net = DnCNN(in_shape, out_channels=2, depth=3, channels=4)
    assert DnCNN.outputs == frozenset({"map"})
    assert net(torch.rand(2, *in_shape)).shape == (2, 2, *in_shape[1:])


def test_depth_convolutions_and_the_last_one_starts_at_zero() -> None:
    net = DnCNN((1, 8, 8), out_channels=1, depth=5, channels=4)
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 5
    assert torch.count_nonzero(net(torch.rand(2, 1, 8, 8))) == 0  # a residual starts at its input


def test_the_receptive_field_is_2_depth_plus_1_pixels() -> None:
    torch.manual_seed(0)
    depth = 3
    net = DnCNN((1, 15, 15), out_channels=1, depth=depth, channels=4, norm="none").eval()
    nn.init.normal_(net.layers[-1].weight)  # the zero start passes nothing
    x = torch.rand(1, 1, 15, 15)
    moved = x.clone()
    moved[0, 0, 7, 7] += 1.0
    changed = (net(moved) - net(x)).abs()[0, 0] > 0
    rows, cols = changed.nonzero().T
    assert int(rows.min()) == 7 - depth and int(rows.max()) == 7 + depth
    assert int(cols.min()) == 7 - depth and int(cols.max()) == 7 + depth
