"""Detection: COCO mAP of known boxes, counting, the heat-map detector's targets and
decoding, and the connected-components baseline on clean canvases."""

from __future__ import annotations

import importlib

import pytest
import torch

from deepimg.data.scatter import Scatter, tight_boxes
from deepimg.tasks.detect import centres
from deepimg.tasks.detect.components import components
from deepimg.tasks.detect.metrics import CountAccuracy, MeanAP

TARGET = torch.tensor([
    [[2.0, 3.0, 10.0, 12.0, 1.0], [14.0, 14.0, 22.0, 20.0, 0.0], [0.0, 0.0, 0.0, 0.0, -1.0]],
    [[5.0, 5.0, 15.0, 15.0, 2.0], [0.0, 0.0, 0.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0, -1.0]],
])  # fmt: skip


def as_detections(target: torch.Tensor, shift: float = 0.0) -> torch.Tensor:
    """The boxes of ``target`` as detections of score 0.9, moved ``shift`` pixels right."""
    found = torch.zeros(*target.shape[:2], 6)
    found[..., :4] = target[..., :4] + torch.tensor([shift, 0.0, shift, 0.0])
    found[..., 4] = 0.9 * (target[..., 4] >= 0)
    found[..., 5] = target[..., 4]
    return found


def test_the_coco_backend_imports() -> None:
    assert importlib.import_module("faster_coco_eval").COCOeval_faster is not None


def test_a_perfect_prediction_has_map_1_and_a_shifted_one_less() -> None:
    scores = {}
    for shift in (0.0, 2.0, 6.0):
        at_half, over = MeanAP(iou=0.5), MeanAP()
        at_half.update(as_detections(TARGET, shift), TARGET)
        over.update(as_detections(TARGET, shift), TARGET)
        scores[shift] = (float(at_half.compute()), float(over.compute()))
    assert scores[0.0] == pytest.approx((1.0, 1.0))
    assert scores[2.0][0] == pytest.approx(1.0) and scores[2.0][1] < 1.0  # IoU >= 0.5 still
    assert scores[6.0][0] < 1.0 and scores[6.0][1] < scores[2.0][1]


def test_the_wrong_class_is_no_detection() -> None:
    wrong = as_detections(TARGET)
    wrong[..., 5] = torch.where(wrong[..., 5] >= 0, (wrong[..., 5] + 1) % 3, -1)
    metric = MeanAP(iou=0.5)
    metric.update(wrong, TARGET)
    assert float(metric.compute()) == 0.0


def test_counting_accuracy_on_a_hand_made_batch() -> None:
    found = as_detections(TARGET)  # 2 and 1 objects, each found with score 0.9
    found[1, 1] = torch.tensor([0.0, 0.0, 4.0, 4.0, 0.2, 0.0])  # a weak extra detection
    metric = CountAccuracy(0.5)
    metric.update(found, TARGET)
    assert float(metric.compute()) == 1.0
    low = CountAccuracy(0.1)  # now the weak one counts, and canvas 1 has one too many
    low.update(found, TARGET)
    assert float(low.compute()) == 0.5


def test_the_heat_target_peaks_at_each_centre_and_decoding_an_ideal_map_finds_the_boxes() -> None:
    boxes, labels = TARGET[..., :4], TARGET[..., 4].long()
    heat = centres.heat_target(boxes, labels, 3, (24, 24))
    assert heat.max() == 1.0 and heat[0, 1, 7, 6] == 1.0  # box (2, 3, 10, 12): centre (6, 7.5)
    assert int((heat == 1).sum()) == 3
    output = torch.full((2, 5, 24, 24), -10.0)
    output[:, :3] = torch.logit(heat.clamp(1e-4, 1 - 1e-4))
    for b, i in ((0, 0), (0, 1), (1, 0)):
        col, row = centres.centre_pixels(boxes[b, i]).tolist()
        output[b, 3:, row, col] = (boxes[b, i, 2:] - boxes[b, i, :2]) / 8.0
    found = centres.decode(output, 3, scale=8.0, keep=10)
    metric = MeanAP(iou=0.5)
    metric.update(found, TARGET)
    assert float(metric.compute()) == pytest.approx(1.0)
    assert centres.counts(found, 0.5).tolist() == [2, 1]


def test_the_focal_loss_is_lower_for_the_right_heat_map() -> None:
    boxes, labels = TARGET[..., :4], TARGET[..., 4].long()
    heat = centres.heat_target(boxes, labels, 3, (24, 24))
    right = torch.logit(heat.clamp(0.01, 0.99))
    assert centres.focal_loss(right, heat) < centres.focal_loss(torch.zeros_like(right), heat)


def test_the_baseline_finds_isolated_objects_exactly_on_a_clean_canvas() -> None:
    pool = torch.zeros(20, 1, 8, 8, dtype=torch.uint8)
    pool[:, :, 2:6, 1:7] = 200  # solid blobs: one component each
    scatter = Scatter(size=40, objects=3, overlap=0.0)
    layout = scatter.layout(tight_boxes(pool, 25), (8, 8), seed=3)
    canvas = scatter.place(layout, list(range(20)), pool, 255)
    found = components(canvas, threshold=0.1, common_class=4, keep=5)
    for i in range(20):
        placed = layout.members[i] >= 0
        truth = sorted(map(tuple, layout.boxes[i][placed].tolist()))
        hits = found[i][found[i][:, 5] >= 0]
        assert sorted(map(tuple, hits[:, :4].tolist())) == truth  # boxes exact, none extra
        assert (hits[:, 5] == 4).all()  # each called the most common class


def test_an_object_seen_as_two_classes_is_two_detections_but_counted_once() -> None:
    output = torch.full((1, 5, 12, 12), -10.0)
    output[0, 0, 5, 5], output[0, 1, 5, 5] = 2.0, 1.0  # a sandal that looks half a boot
    output[0, 0, 9, 2] = 1.5  # and another object further off
    output[0, 3:] = 0.5
    found = centres.decode(output, 3, scale=8.0, keep=5)
    assert centres.counts(found, 0.5).tolist() == [3]  # as detections, for mAP
    assert centres.counts(found, 0.5, radius=1.5).tolist() == [2]  # as objects
    at_first = (found[0, :, 0] < 6) & (found[0, :, 2] > 6) & (found[0, :, 4] >= 0.5)
    assert sorted(found[0, at_first, 5].tolist()) == [0.0, 1.0]  # both classes there
