"""The figures of a segmentation run: each image's Dice per class."""

from __future__ import annotations

import math

import pytest
import torch

from deepimg.tasks.segment.figures import dice_per_image


def test_dice_per_image_and_class_is_nan_where_the_class_is_absent_from_both() -> None:
    truth = torch.zeros(3, 4, 4, dtype=torch.long)
    predicted = torch.zeros(3, 4, 4, dtype=torch.long)
    truth[0, :2] = 1  # image 0: 8 pixels of class 1, 4 of them found
    predicted[0, 0] = 1
    truth[1, 0, :2] = 2  # image 1: class 2 missed entirely, class 1 predicted where there is none
    predicted[1, 3, :3] = 1
    dice = dice_per_image(predicted, truth, num_classes=3)
    assert dice.shape == (3, 2)
    assert float(dice[0, 0]) == pytest.approx(2 * 4 / (4 + 8))
    assert math.isnan(float(dice[0, 1]))  # class 2 in neither
    assert dice[1].tolist() == [0.0, 0.0]  # present in one of the two only
    assert torch.isnan(dice[2]).all()  # image 2: background only, in both
    assert dice_per_image(truth, truth, 3)[:2].nan_to_num(1.0).eq(1.0).all()
