"""LeNet-5: the layer shapes the lectures draw, for 28x28, 32x32 and 8x8 scenes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.lenet import LeNet5


def test_lenet5_has_the_documented_layer_shapes() -> None:
    net = LeNet5((1, 28, 28), 10)
    shapes, x = [], torch.zeros(2, 1, 28, 28)
    for layer in net.features:
        x = layer(x)
        if not isinstance(layer, nn.Tanh):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
    linears = [(m.in_features, m.out_features) for m in net.head if isinstance(m, nn.Linear)]
    assert linears == [(400, 120), (120, 84), (84, 10)]
    assert LeNet5((1, 32, 32), 10).features[0].padding == (0, 0)  # LeCun's own 32x32 input


@pytest.mark.parametrize(("in_shape", "pads"), [((1, 28, 28), (2, 0)), ((3, 32, 32), (0, 0)),
                                                ((1, 8, 8), (2, 2))])  # fmt: skip
def test_it_builds_from_the_scene_shape_and_gives_a_vector_of_num_classes(in_shape, pads) -> None:
    """8x8 digits leave a 6x6 map for the second conv, under 9 pixels: it pads too."""
    net = LeNet5(in_shape, 4)
    assert LeNet5.outputs == frozenset({"vector"})
    assert (net.features[0].padding[0], net.features[3].padding[0]) == pads
    assert net.features[0].in_channels == in_shape[0]
    assert net(torch.rand(2, *in_shape)).shape == (2, 4)


def test_the_activation_is_a_config_key() -> None:
    net = LeNet5((1, 28, 28), 10, activation="relu")
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == 4
    assert not any(isinstance(m, nn.Tanh) for m in net.modules())
