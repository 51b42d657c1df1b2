"""Regularisation: mixup and cutmix (what a mixed batch holds), the weight penalty, and early
stopping."""

from __future__ import annotations

import pytest
import torch

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


def test_without_mixup_or_cutmix_nothing_mixes() -> None:
    assert not Regularization().mixes()
    assert Regularization(mixup=0.2).mixes() and Regularization(cutmix=1.0).mixes()


def test_with_both_set_each_batch_is_mixup_or_cutmix() -> None:
    torch.manual_seed(0)
    scenes = torch.rand(6, 1, 8, 8) + 1.0  # every scene distinct everywhere
    kinds = set()
    for _ in range(20):
        mixed, partner, lam = Regularization(mixup=0.4, cutmix=1.0).mix(scenes)
        blend = lam * scenes + (1 - lam) * scenes[partner]
        kinds.add("mixup" if torch.allclose(mixed, blend) else "cutmix")
        if kinds == {"mixup", "cutmix"}:
            break
    assert kinds == {"mixup", "cutmix"}


def test_the_penalty_is_l1_plus_half_l2_over_weight_matrices_and_kernels_only() -> None:
    network = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        network[0].bias.fill_(100.0)  # biases and norm layers are not penalised
    assert Regularization().penalty(network) == 0.0
    assert Regularization(l1=0.1).penalty(network).item() == pytest.approx(0.1 * 3.5)
    assert Regularization(l2=0.2).penalty(network).item() == pytest.approx(0.2 / 2 * 5.25)
    both = Regularization(l1=0.1, l2=0.2).penalty(network)
    assert both.item() == pytest.approx(0.35 + 0.525)
    both.backward()
    assert network[0].bias.grad is None or torch.count_nonzero(network[0].bias.grad) == 0


def test_early_stopping_only_with_patience_following_the_metric_in_its_direction() -> None:
    def direction(monitor):
        return {"val/loss": "min", "val/acc": "max"}.get(monitor)

    assert Regularization().callbacks("val/acc", direction) == []
    (stopper,) = Regularization(patience=3, monitor="task").callbacks("val/acc", direction)
    assert (stopper.monitor, stopper.mode, stopper.patience) == ("val/acc", "max", 3)
    (stopper,) = Regularization(patience=2).callbacks("val/acc", direction)
    assert (stopper.monitor, stopper.mode) == ("val/loss", "min")
    (stopper,) = Regularization(patience=2, monitor="train/x", mode="max").callbacks(
        "val/acc", direction
    )  # a metric of unknown direction: the stated mode
    assert (stopper.monitor, stopper.mode) == ("train/x", "max")
