"""Segmentation: which pixels belong to the object?"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torchmetrics import Metric
from torchmetrics.segmentation import DiceScore, MeanIoU

from deepimg.models.base import Output
from deepimg.tasks.base import Mode, Task
from deepimg.tasks.segment.dice import dice_per_image


def silhouettes(scenes: torch.Tensor, threshold: float) -> torch.Tensor:
    """Class maps ``(B, H, W)``: 1 where any channel of the clean scene exceeds ``threshold``
    (a share of full scale), else 0 (background)."""
    return (scenes.amax(dim=1) > threshold).long()


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """``1 - mean_k 2 |P_k T_k| / (|P_k| + |T_k|)`` over the object classes (background
    excepted), with softmax probabilities ``P`` and one-hot truth ``T`` over the batch."""
    probabilities = logits.softmax(dim=1)[:, 1:]
    truth = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].to(logits.dtype)
    overlap = (probabilities * truth).sum(dim=(0, 2, 3))
    sizes = probabilities.sum(dim=(0, 2, 3)) + truth.sum(dim=(0, 2, 3))
    return 1 - ((2 * overlap + eps) / (sizes + eps)).mean()


class Segment(Task):
    """A class for every pixel of the scene: background (0) or object class 1..K-1.

    Targets are the masks of a segmentation folder (``dataset=folder`` with ``images/`` and
    ``masks/``), or else the silhouettes of the clean scenes: the object is where the scene
    exceeds ``dataset.mask_threshold`` of full scale, before the physics. The network reads
    the layer's classical estimate of the scene (as for restoration) and gives one logit map
    per class. Loss: cross-entropy + ``dice_weight`` x soft Dice loss. Metrics (torchmetrics,
    object classes only, background excepted): ``dice`` and ``iou``, per image and averaged
    over the classes (an image where a class is absent from both truth and prediction does
    not count for it); the run's analysis adds the Dice of each class. The baseline thresholds the
    classical estimate at ``mask_threshold`` (two classes). The best checkpoint has the
    highest ``val/dice``.
    """

    name = "segment"
    monitor_metric = "dice"
    directions: ClassVar[dict[str, Mode]] = {"dice": "max", "iou": "max"}
    outputs: ClassVar[tuple[Output, ...]] = ("map",)  # one logit map per class
    reads_scene_estimate = True

    def __init__(self, dice_weight: float = 1.0) -> None:
        self.dice_weight = dice_weight
        self.num_classes = 2
        self.threshold = 0.1

    def bind(self, data: Any) -> None:
        self.num_classes = getattr(data, "segmentation_classes", 2)
        self.threshold = data.mask_threshold

    def network_kwargs(self, in_shape: tuple[int, int, int], output: Output) -> dict[str, Any]:
        return {"out_channels": self.num_classes}

    def score(self, prediction: torch.Tensor) -> torch.Tensor:
        return prediction.argmax(dim=1)

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        extras = batch[2] if len(batch) > 2 else {}
        return extras["mask"] if "mask" in extras else silhouettes(batch[0], self.threshold)

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(prediction, target) + self.dice_weight * soft_dice_loss(
            prediction, target
        )

    def metrics(self) -> dict[str, Metric]:
        k = self.num_classes
        return {
            "dice": DiceScore(k, include_background=False, input_format="index"),
            "iou": MeanIoU(k, include_background=False, input_format="index"),
        }

    def combine(self, predictions: list[torch.Tensor]) -> torch.Tensor:
        """The mean of the per-pixel class probabilities, as logits (their log)."""
        return self.mean_probabilities(predictions)

    def per_image(
        self, scored: torch.Tensor, target: torch.Tensor, network_input: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Each image's Dice, averaged over the object classes present in its truth or
        prediction (NaN where none is), of the network and of the thresholded estimate."""
        records = {"dice": dice_per_image(scored, target, self.num_classes).nanmean(dim=1)}
        if self.num_classes == 2:
            baseline = dice_per_image(self.baseline(network_input), target, 2).nanmean(dim=1)
            records["dice_baseline"] = baseline
        return records

    def baseline_metrics(self) -> dict[str, Metric]:
        if self.num_classes != 2:
            return {}
        return {"dice": DiceScore(2, include_background=False, input_format="index")}

    def baseline(self, network_input: torch.Tensor) -> torch.Tensor:
        return silhouettes(network_input, self.threshold)

    def analysis(self) -> type:
        from deepimg.tasks.segment.figures import SegmentAnalysis

        return SegmentAnalysis
