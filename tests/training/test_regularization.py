"""Mixup and cutmix: what a mixed batch holds, and the loss it is scored with."""

from __future__ import annotations

import pytest
import torch

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.training.build import build_datamodule, build_module
from deepimg.training.regularization import Regularization


def test_mixup_blends_each_scene_with_its_partner() -> None:
    torch.manual_seed(0)
    scenes = torch.rand(8, 1, 6, 6)
    mixed, partner, lam = Regularization(mixup=0.4).mix(scenes)
    assert 0 < lam < 1
    assert torch.allclose(mixed, lam * scenes + (1 - lam) * scenes[partner])


def test_cutmix_pastes_a_box_and_returns_the_share_kept() -> None:
    torch.manual_seed(1)
    scenes = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 10, 10).clone()
    mixed, partner, lam = Regularization(cutmix=1.0).mix(scenes)
    assert (partner != torch.arange(4)).any() and 0 < lam < 1
    for i in range(4):
        own = (mixed[i] == scenes[i]).float().mean()
        if partner[i] != i:
            assert float(own) == pytest.approx(lam)  # the rest of the scene is its own
            assert ((mixed[i] == scenes[i]) | (mixed[i] == scenes[partner[i]])).all()


def test_a_mixed_training_step_scores_both_labels_and_other_tasks_refuse_it() -> None:
    cfg = config.compose(["dataset=digits", "regularization=mixup"])
    data = build_datamodule(cfg)
    module = build_module(cfg, data)
    loss = module._mixed_step(next(iter(data.train_dataloader())))
    loss.backward()
    assert loss.ndim == 0 and module.network.head[-1].weight.grad.abs().sum() > 0
    cfg = config.compose(["dataset=digits", "task=restore", "regularization=cutmix"])
    with pytest.raises(
        UserError, match="mixup and cutmix mix two scenes' targets, which task=restore cannot"
    ):
        build_module(cfg, build_datamodule(cfg))
