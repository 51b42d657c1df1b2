"""The multilayer perceptron: every pixel an input, one linear layer per hidden width."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.mlp import MLP


def widths(net: MLP) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in net.layers if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 5, 7)])
def test_it_builds_from_the_scene_shape_and_gives_a_vector_of_num_classes(in_shape) -> None:
    net = MLP(in_shape, 6, hidden=[8])
    assert MLP.outputs == frozenset({"vector"})
    c, h, w = in_shape
    assert widths(net) == [(c * h * w, 8), (8, 6)]
    assert net(torch.rand(2, *in_shape)).shape == (2, 6)


def test_the_default_hidden_layers_and_a_linear_read_out() -> None:
    assert widths(MLP((1, 8, 8), 10)) == [(64, 256), (256, 128), (128, 10)]
    assert widths(MLP((1, 8, 8), 10, hidden=[])) == [(64, 10)]


def test_dropout_and_activation_follow_each_hidden_layer() -> None:
    net = MLP((1, 4, 4), 3, hidden=[5, 5], activation="tanh", dropout=0.25)
    kinds = [type(m) for m in net.layers]
    assert kinds == [nn.Flatten, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Dropout,
                     nn.Linear]  # fmt: skip
    assert all(m.p == 0.25 for m in net.layers if isinstance(m, nn.Dropout))
