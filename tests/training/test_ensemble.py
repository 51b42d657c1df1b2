"""Ensembles: the identities they must keep."""

from __future__ import annotations

import copy

import torch

from deepimg.config import compose as config
from deepimg.training.build import build_datamodule, build_module
from deepimg.training.ensemble import Ensemble


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


def test_a_restoration_ensemble_answers_the_mean_image_and_the_first_members_input() -> None:
    cfg = config.compose(
        ["dataset=digits", "task=restore", "model=dncnn", "model.depth=2", "model.channels=4"]
    )
    data = build_datamodule(cfg)
    members = [build_module(cfg, data).eval() for _ in range(2)]
    for scale, member in zip((0.1, -0.3), members, strict=True):
        torch.nn.init.constant_(member.network.layers[-1].bias, scale)  # a constant residual
    scenes = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        answers = [member.infer(scenes) for member in members]
        together = Ensemble(members).eval().infer(scenes)
    assert torch.allclose(together.prediction, (answers[0].prediction + answers[1].prediction) / 2)
    assert torch.allclose(together.prediction, answers[0].network_input - 0.1, atol=1e-6)
    assert torch.equal(together.network_input, answers[0].network_input)
    assert torch.equal(together.measurement, answers[0].measurement)
