"""U-Net: maps of ``out_channels`` at the input's size (odd sizes too), a zero start, and the
depth an image allows."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.unet import UNet


@pytest.mark.parametrize("up", ["bilinear", "transposed"])
@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 13, 10), (1, 7, 9)])
def test_it_gives_a_map_of_out_channels_at_the_input_size(in_shape, up: str) -> None:
    net = UNet(in_shape, out_channels=2, depth=2, channels=4, up=up)
    assert UNet.outputs == frozenset({"map"})
    assert net(torch.rand(2, *in_shape)).shape == (2, 2, *in_shape[1:])


def test_level_i_has_channels_times_2_to_the_i_maps_and_the_output_starts_at_zero() -> None:
    net = UNet((1, 16, 16), out_channels=3, depth=3, channels=4)
    assert [block[0].out_channels for block in net.down] == [4, 8, 16, 32]
    assert [block[0].in_channels for block in net.up] == [8, 16, 32]  # skip + lifted coarse map
    assert torch.count_nonzero(net(torch.rand(2, 1, 16, 16))) == 0


def test_the_skip_connections_carry_detail_even_at_depth_0() -> None:
    net = UNet((1, 8, 8), out_channels=1, depth=0, channels=4)
    assert len(net.up) == 0 and not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    assert net(torch.rand(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_a_depth_the_image_cannot_halve_to_is_refused_with_the_deepest_that_fits() -> None:
    with pytest.raises(ValueError, match="halves a 6x8 image 3 times; choose model.depth <= 2"):
        UNet((1, 6, 8), out_channels=1, depth=3)
