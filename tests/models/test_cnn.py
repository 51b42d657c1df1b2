"""The plain CNN: filters double per block, pooling halves the map while it can, the head's
hidden layers, and the penultimate features."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.cnn import CNN


def convs(net: nn.Module) -> list[nn.Conv2d]:
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


def linears(net: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in net.head if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 13, 9)])
def test_it_builds_from_the_scene_shape_and_gives_a_vector_of_num_classes(in_shape) -> None:
    net = CNN(in_shape, 7, depth=2, channels=4)
    assert CNN.outputs == frozenset({"vector"})
    assert net(torch.rand(3, *in_shape)).shape == (3, 7)
    assert convs(net)[0].in_channels == in_shape[0]


def test_block_i_has_channels_times_2_to_the_i_filters_and_pooling_halves_the_map() -> None:
    net = CNN((1, 28, 28), 10, depth=3, channels=4, fc=[16])
    assert [c.out_channels for c in convs(net)] == [4, 8, 16]
    assert sum(isinstance(m, nn.MaxPool2d) for m in net.features) == 3
    # 28 -> 14 -> 7 -> 3: the head reads 16 maps of 3x3, then one hidden layer of 16
    assert linears(net) == [(16 * 3 * 3, 16), (16, 10)]
    avg = CNN((1, 28, 28), 10, depth=3, channels=4, pooling="avg")
    assert sum(isinstance(m, nn.AvgPool2d) for m in avg.features) == 3


def test_pooling_stops_once_the_map_is_one_pixel_and_none_keeps_the_full_map() -> None:
    small = CNN((1, 4, 4), 10, depth=4, channels=2, fc=[])
    assert sum(isinstance(m, nn.MaxPool2d) for m in small.features) == 2  # 4 -> 2 -> 1, then none
    assert linears(small) == [(2 * 8 * 1 * 1, 10)]
    flat = CNN((1, 6, 6), 10, depth=2, channels=2, pooling="none", fc=[])
    assert linears(flat) == [(4 * 6 * 6, 10)]


def test_a_strided_same_padding_block_halves_the_map() -> None:
    net = CNN((1, 8, 8), 3, depth=1, channels=2, stride=2, pooling="none", fc=[])
    assert linears(net) == [(2 * 4 * 4, 3)]
    assert net(torch.rand(2, 1, 8, 8)).shape == (2, 3)


def test_penultimate_is_the_input_of_the_last_linear_layer() -> None:
    torch.manual_seed(0)
    net = CNN((1, 8, 8), 5, depth=1, channels=2, fc=[12, 6]).eval()
    x = torch.rand(4, 1, 8, 8)
    features = net.penultimate(x)
    assert features.shape == (4, 6)
    assert torch.allclose(net.head[-1](features), net(x), atol=1e-6)
