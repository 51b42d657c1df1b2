"""Metric updates gathered over batches give what an update per batch gives."""

from __future__ import annotations

import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from deepimg.training.gathered import GatheredUpdates


def classification() -> MetricCollection:
    return MetricCollection({
        "acc": MulticlassAccuracy(5, average="micro"), "f1": MulticlassF1Score(5, average="macro"),
        "auroc": MulticlassAUROC(5, average="macro"),
    })  # fmt: skip


def restoration() -> MetricCollection:
    return MetricCollection({
        "psnr": PeakSignalNoiseRatio(data_range=1.0), "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
    })  # fmt: skip


def test_gathered_updates_equal_one_update_a_batch() -> None:
    generator = torch.Generator().manual_seed(0)
    batches = [
        (torch.rand(7, 5, generator=generator).softmax(1), torch.randint(0, 5, (7,), generator=generator))
        for _ in range(9)
    ]  # fmt: skip
    direct, gathered = classification(), GatheredUpdates(classification())
    for score, target in batches:
        direct.update(score, target)
        gathered.update(score, target)
    assert gathered.size > 0 and not gathered.metrics["acc"].update_count  # nothing passed yet
    gathered.flush()
    expected, got = direct.compute(), gathered.metrics.compute()
    assert all(torch.allclose(expected[k], got[k]) for k in expected)


def test_large_predictions_flush_as_they_come_and_still_agree() -> None:
    generator = torch.Generator().manual_seed(1)
    scenes = [torch.rand(4, 1, 16, 16, generator=generator) for _ in range(5)]
    noisy = [(s + 0.05 * torch.randn(s.shape, generator=generator)).clamp(0, 1) for s in scenes]
    direct, gathered = restoration(), GatheredUpdates(restoration(), limit=3000)
    for prediction, scene in zip(noisy, scenes, strict=True):
        direct.update(prediction, scene)
        gathered.update(prediction, scene)
        assert gathered.size < 3000  # 2,048 a batch: it never holds two
    gathered.flush()
    expected, got = direct.compute(), gathered.metrics.compute()
    assert all(torch.allclose(expected[k], got[k], atol=1e-6) for k in expected)
