"""Test-time augmentation and ensembles: the identities they must keep."""

from __future__ import annotations

import copy

import pytest
import torch

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.training.build import build_datamodule, build_module
from deepimg.training.ensemble import Ensemble
from deepimg.training.tta import hflip, identity, shift, views


@pytest.fixture(scope="module")
def digits():
    cfg = config.compose(["dataset=digits", "model=lenet", "tta=flip_shift"])
    data = build_datamodule(cfg)
    module = build_module(cfg, data).eval()
    scenes = next(iter(data.test_dataloader()))[0]
    return cfg, data, module, scenes


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


def test_an_ensemble_of_one_or_of_identical_members_equals_the_member(digits) -> None:
    _, _, module, scenes = digits
    with torch.no_grad():
        alone = module(scenes).softmax(dim=1)
        one = Ensemble([module]).eval()(scenes).softmax(dim=1)
        twins = Ensemble([module, copy.deepcopy(module)]).eval()(scenes).softmax(dim=1)
    assert torch.allclose(one, alone, atol=1e-6) and torch.allclose(twins, alone, atol=1e-6)
    other = copy.deepcopy(module)
    torch.nn.init.normal_(other.network.head[-1].weight)
    with torch.no_grad():
        mixed = Ensemble([module, other]).eval()(scenes).softmax(dim=1)
        expected = (alone + other(scenes).softmax(dim=1)) / 2  # the mean of the probabilities
    assert torch.allclose(mixed, expected, atol=1e-6)


def test_tta_is_refused_where_a_moved_scene_moves_the_answer() -> None:
    cfg = config.compose(["dataset=digits", "task=restore", "tta=flip"])
    with pytest.raises(
        UserError, match="tta=flip needs an answer that a mirrored or shifted scene keeps"
    ):
        build_module(cfg, build_datamodule(cfg))


def test_members_get_names_that_tell_them_apart() -> None:
    from pathlib import Path

    from deepimg.commands.evaluate import member_names

    sweeps = [Path(f"/o/{s}/{j}/checkpoints/best.ckpt") for s, j in (("a", 0), ("b", 0), ("b", 1))]
    assert member_names(sweeps) == ["a/0", "b/0", "b/1"]
    assert member_names(sweeps[1:]) == ["0", "1"]
    assert len(set(member_names([Path("x.ckpt"), Path("x.ckpt")]))) == 2
