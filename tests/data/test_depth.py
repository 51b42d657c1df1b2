"""Scenes at depths: blocks on planes, seeded, and the batch carries their depth map."""

from __future__ import annotations

import pytest
import torch

from deepimg.data.depth import DepthPlanes
from deepimg.data.digits import Digits
from deepimg.errors import UserError


def test_a_depth_map_is_constant_blocks_on_the_planes() -> None:
    field = DepthPlanes(regions=4, planes=5, near=0.0, far=2.0)
    index = field.draw(10, seed=0)
    depth = field.depth_map(index, (16, 16))
    assert depth.shape == (10, 1, 16, 16)
    assert set(depth.unique().tolist()) <= {0.0, 0.5, 1.0, 1.5, 2.0}
    blocks = depth.view(10, 4, 4, 4, 4)  # (n, block row, row, block col, col)
    assert (blocks == blocks[:, :, :1, :, :1]).all()  # one depth a block
    assert torch.equal(field.draw(10, seed=0), index)  # seeded
    assert not torch.equal(field.draw(10, seed=1), index)


def test_the_batch_carries_the_depth_of_its_scenes() -> None:
    data = Digits(batch_size=32)
    data.use_depth(DepthPlanes(regions=2, planes=4))
    scenes, _, extras = next(iter(data.test_dataloader()))
    assert extras["depth"].shape == (32, 1, 8, 8)
    again = next(iter(data.test_dataloader()))[2]["depth"]
    assert torch.equal(extras["depth"], again)  # the test depths never change


def test_blocks_under_a_pixel_are_refused() -> None:
    data = Digits()
    with pytest.raises(UserError, match="task.regions=16"):
        data.use_depth(DepthPlanes(regions=16))
