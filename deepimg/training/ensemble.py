"""A model ensemble: several trained models answer, and the task combines their answers."""

from __future__ import annotations

import torch
from torch import nn

from deepimg.training.module import ImagingModule, Inference


class Ensemble(ImagingModule):
    """Each member runs its own pipeline (its physical layer, which it may have learned, its
    standardisation and network); the task combines the predictions: the mean of the class
    probabilities for classification, the mean image for restoration. Members must share the
    task, the dataset and the physical layer's config (``deepimg eval`` checks it)."""

    def __init__(self, members: list[ImagingModule]) -> None:
        first = members[0]
        super().__init__(
            first.physics, first.network, first.task, first.optimizer_factory, tta=first.tta
        )
        self.members = nn.ModuleList(members)

    def infer(self, scenes: torch.Tensor, depth: torch.Tensor | None = None) -> Inference:
        answers = [member.infer(scenes, depth) for member in self.members]
        prediction = self.task.combine([a.prediction for a in answers])
        return Inference(prediction, answers[0].network_input, answers[0].measurement)
