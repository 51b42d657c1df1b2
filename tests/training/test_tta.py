"""Test-time augmentation: the views of a scene, and the identity TTA must keep."""

from __future__ import annotations

import copy

import pytest
import torch

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.training.build import build_datamodule, build_module
from deepimg.training.tta import hflip, identity, shift, views


def test_the_views_move_the_scene_and_fill_with_zeros() -> None:
    x = torch.arange(9.0).view(1, 1, 3, 3)
    assert torch.equal(hflip(x)[0, 0, 0], torch.tensor([2.0, 1.0, 0.0]))
    down = shift(1, 0)(x)[0, 0]
    assert torch.equal(down, torch.tensor([[0.0, 0, 0], [0, 1, 2], [3, 4, 5]]))
    left = shift(0, -1)(x)[0, 0]
    assert torch.equal(left, torch.tensor([[1.0, 2, 0], [4, 5, 0], [7, 8, 0]]))
    assert len(views("none")) == 1 and len(views("flip")) == 2 and len(views("flip_shift")) == 6


def test_tta_with_the_identity_view_equals_no_tta(digits) -> None:
    _, _, module, scenes = digits
    module.views = [identity]
    with torch.no_grad():
        plain = module(scenes).softmax(dim=1)
    assert torch.allclose(module.augmented(scenes).softmax(dim=1), plain, atol=1e-6)
    confident = copy.deepcopy(module)  # untrained logits are near uniform: sharpen them
    torch.nn.init.normal_(confident.network.head[-1].weight, std=3.0)
    confident.views = views("flip_shift")
    with torch.no_grad():
        sharp = confident(scenes).softmax(dim=1)
    assert not torch.allclose(confident.augmented(scenes).softmax(dim=1), sharp, atol=1e-3)


def test_tta_is_refused_where_a_moved_scene_moves_the_answer() -> None:
    cfg = config.compose(["dataset=digits", "task=restore", "tta=flip"])
    with pytest.raises(
        UserError, match="tta=flip needs an answer that a mirrored or shifted scene keeps"
    ):
        build_module(cfg, build_datamodule(cfg))


def test_the_first_view_is_the_scene_and_the_views_differ_and_leave_it_untouched() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 5, 6)
    kept = x.clone()
    for tta in ("none", "flip", "flip_shift"):
        assert torch.equal(views(tta)[0](x), x)
    moved = [view(x) for view in views("flip_shift")]
    assert all(m.shape == x.shape for m in moved)
    assert all(not torch.equal(a, b) for i, a in enumerate(moved) for b in moved[i + 1 :])
    assert torch.equal(x, kept)


def test_a_classifiers_views_are_combined_as_the_mean_of_their_probabilities(digits) -> None:
    _, _, module, scenes = digits
    module.views = views("flip")
    with torch.no_grad():
        expected = (module(scenes).softmax(dim=1) + module(hflip(scenes)).softmax(dim=1)) / 2
    assert torch.allclose(module.augmented(scenes).exp(), expected, atol=1e-6)
