"""Metric updates gathered over batches, so that small batches do not pay a metric call each."""

from __future__ import annotations

import torch
from torchmetrics import MetricCollection

# Elements (scores and targets together) held before an update: 4 MiB of float32. Class
# scores of a few hundred batches fit; a batch of restored images flushes at once.
LIMIT = 2**20


class GatheredUpdates:
    """The (score, target) pairs of several batches, passed to ``metrics.update`` together.

    A torchmetrics update costs about the same for 64 scores as for 64,000 (argument checks
    and a dozen small tensor operations): on 8×8 digits, updating the three classification
    metrics after every batch made the training loop 0.7 times as fast as a bare one. The
    metrics here sum statistics or concatenate what they see, so one update with the
    concatenated batches gives what an update per batch gives. ``flush`` before ``compute``.
    A ``MeanMetric`` takes (value, weight) pairs the same way: the epoch's mean loss.
    """

    def __init__(self, metrics: MetricCollection, limit: int = LIMIT) -> None:
        self.metrics, self.limit = metrics, limit
        self.scores: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []
        self.size = 0

    def update(self, score: torch.Tensor, target: torch.Tensor) -> None:
        self.scores.append(score)
        self.targets.append(target)
        self.size += score.numel() + target.numel()
        if self.size >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Pass everything gathered to the metrics."""
        if self.scores:
            self.metrics.update(torch.cat(self.scores), torch.cat(self.targets))
        self.scores, self.targets, self.size = [], [], 0
