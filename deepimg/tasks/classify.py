"""Classification: which class does the scene show?"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from deepimg.tasks.base import Mode, Task


class Classify(Task):
    """Class logits from the measurement; softmax cross-entropy.

    Metrics: accuracy (micro), macro F1 and macro one-vs-rest AUROC; the best checkpoint
    is the one of highest validation accuracy, and sweepers receive ``val/acc_best``.
    """

    name = "classify"
    monitor_metric = "acc"
    directions: ClassVar[dict[str, Mode]] = {"acc": "max", "f1": "max", "auroc": "max"}

    def __init__(self) -> None:
        self.num_classes = 0

    def bind(self, data: Any) -> None:
        self.num_classes = data.num_classes  # loads the data, which says whether it has classes
        if not getattr(data, "has_classes", True):
            raise ValueError(
                f"{type(data).__name__} has no classes to learn here (patches and "
                "segmentation folders); use task=restore or task=segment"
            )
        if self.num_classes < 2:
            raise ValueError(
                f"classification needs at least 2 classes; this dataset has {self.num_classes}"
            )

    def network_kwargs(self, in_shape: tuple[int, int, int], network: type) -> dict[str, Any]:
        return {"num_classes": self.num_classes}

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return batch[1]

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(prediction, target)

    def metrics(self) -> dict[str, Metric]:
        k = self.num_classes
        return {
            "acc": MulticlassAccuracy(k, average="micro"),
            "f1": MulticlassF1Score(k, average="macro"),
            "auroc": MulticlassAUROC(k, average="macro"),
        }

    def analysis(self) -> type:
        from deepimg.analysis.run_analysis import RunAnalysis

        return RunAnalysis
