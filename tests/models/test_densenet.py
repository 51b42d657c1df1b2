"""DenseNet-BC: growth, compression and transitions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.densenet import DenseNet


def test_densenet_grows_by_the_growth_rate_and_compresses_at_transitions() -> None:
    net = DenseNet((1, 28, 28), 10, growth=4, blocks=[2, 3], compression=0.5)
    # stem 8 maps; block 1: 8 + 2*4 = 16; transition to 8; block 2: 8 + 3*4 = 20
    assert net.head[-1].in_features == 20
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 9, 13)])
def test_it_builds_from_the_scene_shape_and_gives_a_vector_of_num_classes(in_shape) -> None:
    net = DenseNet(in_shape, 3, growth=2, blocks=[1, 1])
    assert DenseNet.outputs == frozenset({"vector"})
    assert net.features[0].in_channels == in_shape[0]
    assert net(torch.rand(2, *in_shape)).shape == (2, 3)


def test_the_stem_has_twice_the_growth_and_each_layer_reads_all_earlier_maps() -> None:
    net = DenseNet((1, 8, 8), 10, growth=3, blocks=[2])
    assert net.features[0].out_channels == 6
    x = torch.rand(2, 6, 8, 8)
    first = net.features[1]
    out = first(x)
    assert out.shape == (2, 9, 8, 8) and torch.equal(out[:, :6], x)  # its input kept, 3 maps added
    assert net.features[2].layers[2].in_channels == 9  # the next layer reads all nine


def test_transitions_pool_only_while_the_map_is_two_pixels_wide() -> None:
    net = DenseNet((1, 4, 4), 10, growth=2, blocks=[1, 1, 1, 1])
    assert sum(isinstance(m, nn.AvgPool2d) for m in net.features) == 2  # 4 -> 2 -> 1, then none
    assert net(torch.rand(2, 1, 4, 4)).shape == (2, 10)
