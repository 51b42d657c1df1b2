"""Classification: which class does the scene show?"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from deepimg.config.constraints import Range
from deepimg.models.base import Output
from deepimg.tasks.base import Mode, Task

Loss = Literal["cross_entropy", "focal"]


def balanced_weights(counts: torch.Tensor) -> torch.Tensor:
    """Inverse class frequency, ``n / (K n_c)`` (scikit-learn's "balanced"): 1 for every
    class when they are equally frequent."""
    counts = counts.float()
    return counts.sum() / (len(counts) * counts.clamp(min=1))


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, gamma: float, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """``-w_t (1 - p_t)^gamma log p_t`` (Lin et al. 2017), averaged as weighted cross-entropy
    is (divided by the summed weights), so that ``gamma = 0`` is cross-entropy."""
    log_p = F.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
    w = torch.ones_like(log_p) if weight is None else weight[target]
    return -(w * (1 - log_p.exp()) ** gamma * log_p).sum() / w.sum()


class Classify(Task):
    """Class logits from the measurement.

    Loss: softmax cross-entropy (``label_smoothing`` spreads that share of the target over
    all classes), or the focal loss (``gamma`` > 0 down-weights the easy images); either
    weighted per class by ``class_weights``: ``balanced`` (inverse class frequency on the
    training split, for imbalanced sets such as BloodMNIST) or one weight per class.
    Metrics: accuracy (micro), macro F1 and macro one-vs-rest AUROC; the best checkpoint
    is the one of highest validation accuracy, and sweepers receive ``val/acc_best``.
    """

    name = "classify"
    monitor_metric = "acc"
    directions: ClassVar[dict[str, Mode]] = {"acc": "max", "f1": "max", "auroc": "max"}
    outputs: ClassVar[tuple[Output, ...]] = ("vector",)
    mixes_labels = True  # a mixed scene's target is the mix of two labels
    flip_invariant = True  # a mirrored or shifted object is the same class
    keeps_test_scores = True  # the confusion matrix and ROC curves reuse the test's logits

    def __init__(
        self,
        loss: Loss = "cross_entropy",
        label_smoothing: Annotated[float, Range(0, 1)] = 0.0,
        class_weights: Literal["balanced"] | list[Annotated[float, Range(0)]] | None = None,
        gamma: Annotated[float, Range(0)] = 2.0,
    ) -> None:
        self.num_classes = 0
        self.loss_name, self.label_smoothing, self.gamma = loss, label_smoothing, gamma
        self.class_weights = class_weights
        self.weight: torch.Tensor | None = None

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
        if self.loss_name == "focal" and self.label_smoothing:
            raise ValueError("label_smoothing applies to loss=cross_entropy, not to focal")
        self.weight = self._weights(data)

    def _weights(self, data: Any) -> torch.Tensor | None:
        if self.class_weights is None:
            return None
        if self.class_weights == "balanced":
            data.setup()
            return balanced_weights(data.train.labels.bincount(minlength=self.num_classes))
        if len(self.class_weights) != self.num_classes:
            raise ValueError(
                f"class_weights has {len(self.class_weights)} values; this dataset has "
                f"{self.num_classes} classes ({', '.join(data.class_names)})"
            )
        return torch.tensor(list(self.class_weights), dtype=torch.float32)

    def network_kwargs(self, in_shape: tuple[int, int, int], output: Output) -> dict[str, Any]:
        return {"num_classes": self.num_classes}

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return batch[1]

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weight = None if self.weight is None else self.weight.to(prediction.device)
        if self.loss_name == "focal":
            return focal_loss(prediction, target, self.gamma, weight)
        return F.cross_entropy(
            prediction, target, weight=weight, label_smoothing=self.label_smoothing
        )

    def combine(self, predictions: list[torch.Tensor]) -> torch.Tensor:
        """The mean of the class probabilities, as logits (their log): the metrics see
        those probabilities and the loss their cross-entropy."""
        return self.mean_probabilities(predictions)

    def per_image(
        self, scored: torch.Tensor, target: torch.Tensor, network_input: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The true class, the predicted one, whether it is right (``acc``), and the
        probability given to the true class (``p_true``)."""
        probabilities = scored.float().softmax(dim=1)
        predicted = probabilities.argmax(dim=1)
        return {
            "target": target,
            "predicted": predicted,
            "acc": (predicted == target).float(),
            "p_true": probabilities.gather(1, target[:, None])[:, 0],
        }

    def chance(self) -> dict[str, float]:
        """Accuracy of a guess among the classes."""
        return {"acc": 1.0 / max(1, self.num_classes)}

    def metrics(self) -> dict[str, Metric]:
        k = self.num_classes
        return {
            "acc": MulticlassAccuracy(k, average="micro"),
            "f1": MulticlassF1Score(k, average="macro"),
            "auroc": MulticlassAUROC(k, average="macro"),
        }

    def training_metrics(self) -> dict[str, Metric]:
        """Accuracy and F1: AUROC keeps and sorts every training score each epoch (on 8×8
        digits, a tenth of an epoch's time), for a number nobody reads off the training set."""
        return {k: v for k, v in self.metrics().items() if k != "auroc"}

    def analysis(self) -> type:
        from deepimg.tasks.classify.figures import ClassifyAnalysis

        return ClassifyAnalysis
