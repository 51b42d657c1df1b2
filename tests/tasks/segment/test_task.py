"""Segmentation: metrics against hand-computed values, silhouettes, and the default sensor."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.segmentation import DiceScore, MeanIoU

from deepimg.config import compose as config
from deepimg.tasks.segment.task import silhouettes, soft_dice_loss
from deepimg.training.build import build_datamodule, build_module


def test_dice_and_iou_of_known_masks_including_empty_ones() -> None:
    truth = torch.zeros(2, 4, 4, dtype=torch.long)
    truth[0, :2] = 1  # 8 object pixels; image 1 has none
    predicted = truth.clone()
    predicted[0, 0] = 0  # 4 of the 8 found, none extra
    dice = DiceScore(2, include_background=False, input_format="index")(predicted, truth)
    iou = MeanIoU(2, include_background=False, input_format="index")(predicted, truth)
    assert float(dice) == pytest.approx(2 * 4 / (4 + 8))  # the empty image does not count
    assert float(iou) == pytest.approx(4 / 8)
    assert float(soft_dice_loss(torch.tensor([[-9.0, 9.0]]).view(1, 2, 1, 1).expand(1, 2, 2, 2),
                                torch.ones(1, 2, 2, dtype=torch.long))) < 0.01  # fmt: skip


def test_silhouettes_threshold_the_clean_scene() -> None:
    scenes = torch.tensor([[[[0.05, 0.2], [0.1, 0.9]]]])
    assert silhouettes(scenes, 0.1).tolist() == [[[0, 1], [0, 1]]]


@pytest.mark.parametrize(
    ("overrides", "exact"),
    [([], False), (["physical_layer=quantize", "physical_layer.bits=8"], True)],
)
def test_segmentation_defaults_to_a_blurring_sensor_that_thresholding_cannot_undo(
    overrides: list[str], exact: bool
) -> None:
    """Through the 8-bit ADC (the other tasks' default) thresholding the measurement is
    exact; the segmentation default blurs, so the baseline errs, and the command line wins."""
    cfg = config.compose(["task=segment", "dataset=digits", *overrides])
    data = build_datamodule(cfg)
    module = build_module(cfg, data)
    scenes = next(iter(data.train_dataloader()))[0]
    truth = module.task.target((scenes,))
    guess = module.task.baseline(module.infer(scenes).network_input)
    assert (type(module.physics).__name__ == "Blur") != exact
    assert bool((guess == truth).all()) == exact
