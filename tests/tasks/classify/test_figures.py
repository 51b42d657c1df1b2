"""The figures of a classification run: which steps each analysis level takes, and the example
scenes it shows. (The figures themselves: tests/analysis/test_run_analysis.py.)"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from deepimg.analysis.run_analysis import AnalysisSettings
from deepimg.tasks.classify.figures import ClassifyAnalysis, examples_by_class


def test_examples_go_example_by_example_through_the_classes() -> None:
    labels = torch.tensor([2, 0, 1, 0, 2, 1, 0])
    assert examples_by_class(labels, per_class=2, classes=3) == [1, 2, 0, 3, 5, 4]
    assert examples_by_class(labels, per_class=1, classes=2) == [1, 2]  # the first classes only
    # a class with fewer images than asked for is left out once it has none left
    assert examples_by_class(torch.tensor([0, 0, 1]), per_class=2, classes=2) == [0, 2, 1]


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.physics, self.network = nn.Identity(), nn.Linear(4, 3)


def steps(figures: str) -> list[str]:
    data = SimpleNamespace(class_names=["a", "b", "c"])
    analysis = ClassifyAnalysis(Model(), data, Path("unused"), AnalysisSettings(figures), None)
    return [name for name, _ in analysis.steps()]


def test_basic_draws_the_fast_figures_and_full_adds_the_slow_ones() -> None:
    basic = ["test predictions", "confusion matrix", "ROC and precision-recall"]
    assert steps("basic") == [*basic, "learning curves"]
    slow = ["saliency", "occlusion", "first-layer filters", "t-SNE, PCA, k-means",
            "sliding window"]  # fmt: skip
    assert steps("full") == [*basic, *slow, "learning curves"]


def test_the_figures_reuse_the_tests_scores_instead_of_predicting_again(
    digits_module, tmp_path: Path, monkeypatch
) -> None:
    """After a test, the confusion matrix and ROC curves read what the test scored: the same
    probabilities as a second pass over the test split, without it."""
    import pytorch_lightning as pl

    from deepimg.tasks.classify import figures
    from deepimg.tasks.classify.predictions import predict

    module, datamodule = digits_module
    fresh = predict(module, module.network, datamodule.test_dataloader())
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.test(module, datamodule=datamodule, verbose=False)

    def second_pass(*_args, **_kwargs):
        raise AssertionError("the test split was predicted a second time")

    monkeypatch.setattr(figures, "predict", second_pass)
    analysis = ClassifyAnalysis(module, datamodule, tmp_path, AnalysisSettings(), None)
    analysis.predict()
    assert len(analysis.predictions.labels) == len(fresh.labels) > 100
    assert (analysis.predictions.labels == fresh.labels).all()
    assert abs(analysis.predictions.probabilities - fresh.probabilities).max() < 1e-5
