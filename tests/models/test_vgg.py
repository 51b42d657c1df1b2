"""VGG-style stages: filters double per stage, a max-pool closes each stage while it can."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.vgg import VGG


@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 9, 11)])
def test_it_builds_from_the_scene_shape_and_gives_a_vector_of_num_classes(in_shape) -> None:
    net = VGG(in_shape, 4, stages=[1, 1], channels=4, fc=8)
    assert VGG.outputs == frozenset({"vector"})
    assert net.features[0].in_channels == in_shape[0]
    assert net(torch.rand(2, *in_shape)).shape == (2, 4)


def test_stage_i_has_channels_times_2_to_the_i_filters_in_stages_i_convs() -> None:
    net = VGG((1, 16, 16), 10, stages=[2, 1, 3], channels=4, fc=12)
    convs = [m.out_channels for m in net.features if isinstance(m, nn.Conv2d)]
    assert convs == [4, 4, 8, 16, 16, 16]
    linears = [(m.in_features, m.out_features) for m in net.head if isinstance(m, nn.Linear)]
    assert linears == [(16, 12), (12, 10)]


def test_pooling_stops_once_the_map_is_one_pixel() -> None:
    net = VGG((1, 4, 4), 10, stages=[1, 1, 1, 1], channels=2)
    assert sum(isinstance(m, nn.MaxPool2d) for m in net.features) == 2  # 4 -> 2 -> 1, then none
    assert net(torch.rand(2, 1, 4, 4)).shape == (2, 10)
