"""Classification: the focal loss, class weights, and the data it refuses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.tasks.classify.task import balanced_weights, focal_loss
from deepimg.training.build import build_datamodule, build_module


def test_focal_loss_with_gamma_0_is_cross_entropy_weighted_or_not() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(32, 5), torch.randint(0, 5, (32,))
    weight = torch.rand(5) + 0.5
    assert torch.allclose(focal_loss(logits, target, 0.0), F.cross_entropy(logits, target))
    assert torch.allclose(
        focal_loss(logits, target, 0.0, weight), F.cross_entropy(logits, target, weight=weight)
    )
    assert focal_loss(logits, target, 2.0) < F.cross_entropy(logits, target)  # easy ones count less


def test_balanced_weights_are_inversely_proportional_to_the_class_counts() -> None:
    counts = torch.tensor([10, 20, 40, 80])
    weights = balanced_weights(counts)
    assert torch.allclose(weights * counts, torch.full((4,), float(weights[0] * 10)))
    assert torch.allclose(balanced_weights(torch.tensor([7, 7, 7])), torch.ones(3))
    cfg = config.compose(["dataset=digits", "task.class_weights=balanced"])
    data = build_datamodule(cfg)
    task = build_module(cfg, data).task
    counts = data.train.labels.bincount()
    assert torch.allclose(task.weight * counts, (task.weight * counts)[0].expand(10))


def test_class_weights_of_the_wrong_length_and_focal_smoothing_are_one_line() -> None:
    cfg = config.compose(["dataset=digits", "task.class_weights=[1,2]"])
    with pytest.raises(UserError, match="class_weights has 2 values; this dataset has 10"):
        build_module(cfg, build_datamodule(cfg))
    cfg = config.compose(["dataset=digits", "task.loss=focal", "task.label_smoothing=0.1"])
    with pytest.raises(UserError, match="label_smoothing applies to loss=cross_entropy"):
        build_module(cfg, build_datamodule(cfg))


def test_classify_refuses_patches_whose_labels_are_not_classes(patches_data) -> None:
    cfg = config.compose(["dataset=patches"])
    with pytest.raises(UserError, match="no classes to learn"):
        build_module(cfg, patches_data)
