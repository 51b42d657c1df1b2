"""Locally connected layers: a convolution whose weights differ at every position; the network
as an image-to-image map or a classifier."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepimg.models.locally_connected import LocallyConnected, LocallyConnected2d


def test_with_the_same_weights_at_every_position_it_is_a_convolution() -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(2, 3, (6, 5), kernel_size=3)
    kernel, bias = torch.randn(3, 2, 3, 3), torch.randn(3)
    with torch.no_grad():
        layer.weight.copy_(kernel.flatten(1).expand(6 * 5, 3, 18))
        layer.bias.copy_(bias.view(3, 1, 1).expand(3, 6, 5))
    x = torch.rand(4, 2, 6, 5)
    assert torch.allclose(layer(x), F.conv2d(x, kernel, bias, padding=1), atol=1e-5)


def test_each_position_has_its_own_weights() -> None:
    """A pixel's output depends only on the weights of its own position."""
    torch.manual_seed(0)
    layer = LocallyConnected2d(1, 1, (4, 4), kernel_size=3)
    x = torch.rand(1, 1, 4, 4)
    before = layer(x).detach()
    with torch.no_grad():
        layer.weight[5] += 1.0  # position 5 = row 1, column 1
    changed = (layer(x).detach() - before)[0, 0] != 0
    assert changed.nonzero().tolist() == [[1, 1]]
    assert layer.weight.shape == (16, 1, 9) and layer.bias.shape == (1, 4, 4)


def test_it_starts_with_he_statistics() -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(4, 8, (8, 8), kernel_size=5)
    fan_in = 4 * 25
    assert float(layer.weight.detach().std()) == pytest.approx((2 / fan_in) ** 0.5, rel=0.05)
    assert torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize("in_shape", [(1, 8, 8), (3, 5, 7)])
def test_given_out_channels_it_gives_a_map_that_starts_at_zero(in_shape) -> None:
    net = LocallyConnected(in_shape, out_channels=2, depth=1, channels=3, kernel_size=3)
    out = net(torch.rand(2, *in_shape))
    assert out.shape == (2, 2, *in_shape[1:])
    assert torch.count_nonzero(out) == 0  # a residual network starts from its input


@pytest.mark.parametrize("in_shape", [(1, 8, 8), (3, 5, 7)])
def test_given_num_classes_it_gives_a_vector(in_shape) -> None:
    net = LocallyConnected(in_shape, num_classes=4, depth=2, channels=3, kernel_size=3)
    assert net(torch.rand(2, *in_shape)).shape == (2, 4)
    assert LocallyConnected.outputs == frozenset({"vector", "map"})


@pytest.mark.parametrize("sizes", [{}, {"out_channels": 1, "num_classes": 2}])
def test_it_needs_either_out_channels_or_num_classes(sizes: dict) -> None:
    with pytest.raises(ValueError, match="either out_channels or num_classes"):
        LocallyConnected((1, 8, 8), **sizes)
