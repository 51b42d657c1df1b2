"""Detection metrics as torchmetrics metrics: COCO mean average precision, counting accuracy.

torchmetrics' own ``MeanAveragePrecision`` needs torchvision, which on this kind of machine
comes only as a CUDA build of several GB beside deepimg's CPU torch. The COCO evaluation it
wraps comes from one of its two backends, faster-coco-eval (a wheel): ``MeanAP`` hands every
image's boxes to that backend's ``COCOeval_faster`` itself, without torchvision. It gives
pycocotools' numbers (checked on 6,000 synthetic images of 3 boxes: equal to 8 digits) in a fifth of the
time: 2 s instead of 10 s for 6,000 canvases of 20 detections.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from deepimg.tasks.detect.centres import counts, objects


def coco_ground_truth(target: np.ndarray) -> dict:
    """A COCO dataset of boxes ``(n, N, 5)`` ``(x1, y1, x2, y2, class)``, class -1: none."""
    images, annotations = [], []
    for i, boxes in enumerate(target):
        images.append({"id": i})
        for x1, y1, x2, y2, label in boxes[boxes[:, 4] >= 0]:
            w, h = float(x2 - x1), float(y2 - y1)
            annotations.append({
                "id": len(annotations) + 1, "image_id": i, "category_id": int(label),
                "bbox": [float(x1), float(y1), w, h], "area": w * h, "iscrowd": 0,
            })  # fmt: skip
    classes = sorted({a["category_id"] for a in annotations})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": c} for c in classes]}  # fmt: skip


def mean_average_precision(detections: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """COCO's mAP@[.5:.95] and mAP@0.5 of detections ``(n, M, 6)`` against ``target``."""
    from faster_coco_eval import COCO, COCOeval_faster

    rows = [
        [i, x1, y1, x2 - x1, y2 - y1, score, label]
        for i, found in enumerate(detections)
        for x1, y1, x2, y2, score, label in found[found[:, 5] >= 0]
    ]
    if not rows:
        return 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):  # COCO prints its progress
        truth = COCO()
        truth.dataset = coco_ground_truth(target)
        truth.createIndex()
        found = truth.loadRes(np.asarray(rows, dtype=np.float64))
        evaluation = COCOeval_faster(truth, found, iouType="bbox", print_function=print)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    return float(max(stats[0], 0.0)), float(max(stats[1], 0.0))  # -1: no such objects


class Evaluations:
    """The last COCO evaluation, kept for the metric beside it: ``map`` and ``map50`` of one
    stage see the same boxes, and one evaluation answers both."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.value = (0.0, 0.0)

    def __call__(self, detections: np.ndarray, target: np.ndarray) -> tuple[float, float]:
        key = (detections.shape, float(detections.sum()), target.shape, float(target.sum()))
        if key != self.key:
            self.key, self.value = key, mean_average_precision(detections, target)
        return self.value


class MeanAP(Metric):
    """COCO mean average precision: ``iou=None`` over IoU 0.5:0.05:0.95, or at one IoU
    (only 0.5 is offered: COCO's summary holds 0.5 and 0.75). ``update(detections (B, M, 6),
    target (B, N, 5))``; computed once over every image seen (the COCO way, not a mean of
    batch values). Metrics given one ``Evaluations`` share their evaluation."""

    full_state_update = False
    higher_is_better = True

    def __init__(
        self, iou: float | None = None, evaluations: Evaluations | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if iou not in (None, 0.5):
            raise ValueError(f"iou={iou}: MeanAP gives mAP@[.5:.95] (None) or mAP@0.5")
        self.iou = iou
        self.evaluations = evaluations or Evaluations()
        self.add_state("detections", [], dist_reduce_fx="cat")
        self.add_state("targets", [], dist_reduce_fx="cat")

    def update(self, detections: torch.Tensor, target: torch.Tensor) -> None:
        self.detections.append(detections.detach().float().cpu())
        self.targets.append(target.detach().float().cpu())

    def compute(self) -> torch.Tensor:
        detections = dim_zero_cat(self.detections).numpy()
        target = dim_zero_cat(self.targets).numpy()
        both, at_half = self.evaluations(detections, target)
        return torch.tensor(at_half if self.iou == 0.5 else both)


class CountAccuracy(Metric):
    """The share of canvases whose objects were counted exactly: detections scoring at least
    ``threshold`` (a number, or a function that gives the one in use), each object once
    (``radius``: see ``centres.counts``), against the objects of the target ``(B, N, 5)``."""

    full_state_update = False
    higher_is_better = True

    def __init__(
        self, threshold: float | Callable[[], float] = 0.3, radius: float = 0.0, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold if callable(threshold) else lambda: threshold
        self.radius = radius
        self.add_state("right", torch.tensor(0), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, detections: torch.Tensor, target: torch.Tensor) -> None:
        true = objects(target)
        self.right += (counts(detections, self.threshold(), self.radius) == true).sum()
        self.total += len(true)

    def compute(self) -> torch.Tensor:
        return self.right.float() / self.total.clamp(min=1)
