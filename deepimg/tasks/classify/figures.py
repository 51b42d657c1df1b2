"""Every figure of one run, made after testing, and the run's ``index.html`` that shows them.

``deepimg train`` calls :func:`analyse_run` after the test of the best checkpoint,
``deepimg eval`` after its re-test. The config group ``analysis`` chooses how much:

* ``none``: nothing;
* ``basic`` (seconds): confusion matrices, the per-class table, ROC and precision-recall
  curves, learning curves with a diagnosis, and the page;
* ``full`` (half a minute on a CPU): adds saliency and occlusion maps on the scene, the
  first-layer filters, t-SNE and PCA of the penultimate features with k-means purity,
  and a sliding-window class-probability map over a mosaic of test scenes.

Figures go into ``<run>/analysis/``; the physical layer's own pictures are in ``<run>/physics/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Protocol

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from deepimg.analysis.progress import run_steps
from deepimg.analysis.run_page import write_run_page
from deepimg.analysis.spreadsheets import write_csv
from deepimg.config.constraints import Range
from deepimg.tasks.classify import (
    attribution,  # moves out of this module next
    metrics,
)
from deepimg.tasks.classify import plots as figures
from deepimg.tasks.classify.predictions import Predictions, device_of, predict

EXAMPLE_POOL = 2000  # test scenes searched for examples of each class
MAX_CLASSES_SHOWN = 10  # classes in the per-example figures


@dataclass
class AnalysisSettings:
    """The ``analysis`` config group: which figures a run gets, and how many examples they use."""

    figures: Literal["none", "basic", "full"] = "basic"
    examples_per_class: Annotated[int, Range(1, 10)] = 2
    embedding_samples: Annotated[int, Range(20, 100_000)] = 2000
    mosaic_side: Annotated[int, Range(2, 10)] = 4


def settings_from_config(cfg: DictConfig) -> AnalysisSettings:
    """The run's ``analysis`` settings; runs made before the group existed get ``basic``."""
    node = cfg.get("analysis")
    if node is None:
        return AnalysisSettings()
    values = OmegaConf.to_container(node, resolve=True)
    return AnalysisSettings(**{k: v for k, v in values.items() if not k.startswith("_")})


class LabelledImages(Protocol):
    """What the analysis needs from a data module: class names and the test split."""

    @property
    def class_names(self) -> list[str]: ...

    def test_dataloader(self) -> Iterable[tuple[torch.Tensor, torch.Tensor]]: ...

    def scenes(self, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]: ...


def examples_by_class(labels: torch.Tensor, per_class: int, classes: int) -> list[int]:
    """Indices of the first ``per_class`` images of each of the first ``classes`` classes,
    ordered example by example (all classes' first image, then all classes' second...)."""
    found = [(labels == c).nonzero().flatten()[:per_class].tolist() for c in range(classes)]
    return [idx[e] for e in range(per_class) for idx in found if e < len(idx)]


class RunAnalysis:
    """The figures of one trained classifier on its test split, each made by one method.

    Other tasks subclass it (``restore_analysis.RestoreAnalysis``) with steps of their own;
    ``metric`` and ``loss_label`` say what the learning curves show.
    """

    metric = "acc"
    loss_label = "cross-entropy loss"

    def __init__(
        self,
        model: nn.Module,
        data: LabelledImages,
        folder: Path,
        settings: AnalysisSettings,
        history: Path | None,
    ) -> None:
        self.model, self.data, self.folder, self.settings = model, data, folder, settings
        self.physics: nn.Module = model.physics
        self.network: nn.Module = model.network
        self.history = history
        self.class_names = list(data.class_names)
        self.device = device_of(model)
        self.predictions: Predictions | None = None
        self.summary: dict[str, object] = {"figures": settings.figures}

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        basic = [
            ("test predictions", self.predict),
            ("confusion matrix", self.confusion),
            ("ROC and precision-recall", self.curves),
            ("learning curves", self.learning_curves),
        ]
        full = [
            ("saliency", self.saliency),
            ("occlusion", self.occlusion),
            ("first-layer filters", self.filters),
            ("t-SNE, PCA, k-means", self.embeddings),
            ("sliding window", self.sliding_window),
        ]
        return basic + (full if self.settings.figures == "full" else [])

    def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.model.eval()
        run_steps("figures", self.steps())
        (self.folder / "analysis.json").write_text(json.dumps(self.summary, indent=2) + "\n")

    # ---- basic ------------------------------------------------------------------------------

    def predict(self) -> None:
        want_features = self.settings.figures == "full"
        self.predictions = predict(
            self.model, self.network, self.data.test_dataloader(), want_features
        )

    def confusion(self) -> None:
        p = self.predictions
        counts = metrics.confusion_counts(p.labels, p.predicted, len(self.class_names))
        figures.confusion_figure(
            counts, metrics.row_normalised(counts), self.class_names, self.folder / "confusion.png"
        )
        table = metrics.per_class_table(p.labels, p.predicted, self.class_names)
        write_csv(table, self.folder / "per_class.csv", float_format="%.4f")

    def curves(self) -> None:
        p = self.predictions
        roc = metrics.roc_curves(p.labels, p.probabilities)
        pr = metrics.pr_curves(p.labels, p.probabilities)
        prevalence = np.bincount(p.labels, minlength=len(self.class_names)) / len(p.labels)
        figures.curves_figure(roc, self.class_names, "roc", self.folder / "roc.png")
        figures.curves_figure(
            pr, self.class_names, "pr", self.folder / "pr.png", baseline=prevalence
        )
        self.summary["macro_auroc"] = float(np.nanmean([c.score for c in roc]))
        self.summary["mean_average_precision"] = float(np.nanmean([c.score for c in pr]))

    def learning_curves(self) -> None:
        if self.history is None or not self.history.is_file():
            return
        history = metrics.learning_history(self.history, self.metric)
        if history.empty:
            return
        diagnosis = metrics.diagnose(history)
        figures.learning_curves_figure(
            history, diagnosis, self.folder / "learning_curves.png", self.metric, self.loss_label
        )
        self.summary["diagnosis"] = diagnosis

    # ---- full -------------------------------------------------------------------------------

    def examples(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Example test scenes, their labels, and how many classes they cover."""
        scenes, labels = self.data.scenes("test", EXAMPLE_POOL)
        classes = min(len(self.class_names), MAX_CLASSES_SHOWN)
        picks = examples_by_class(labels, self.settings.examples_per_class, classes)
        return scenes[picks].to(self.device), labels[picks].to(self.device), classes

    def saliency(self) -> None:
        scenes, labels, classes = self.examples()
        maps, surrogate = attribution.saliency(self.model, self.physics, scenes, labels)
        with torch.no_grad():
            sensed = self.physics(scenes)
        note = (
            " (its training surrogate: the evaluated layer passes no gradient)" if surrogate else ""
        )
        titles = [self.class_names[int(y)] for y in labels]
        figures.saliency_figure(
            scenes.cpu(),
            sensed.cpu(),
            maps.cpu(),
            titles,
            note,
            classes,
            self.folder / "saliency.png",
        )

    def occlusion(self) -> None:
        scenes, labels, classes = self.examples()
        side = min(scenes.shape[-2:])
        patch = max(1, round(side / 7))
        stride = max(1, patch // 2)
        maps = [
            attribution.occlusion(self.model, s, int(y), patch, stride)
            for s, y in zip(scenes, labels, strict=True)
        ]
        titles = [self.class_names[int(y)] for y in labels]
        figures.occlusion_figure(
            scenes.cpu(), maps, titles, classes, patch, self.folder / "occlusion.png"
        )

    def filters(self) -> None:
        convs = [m for m in self.network.modules() if isinstance(m, nn.Conv2d)]
        if convs:
            figures.filters_figure(convs[0].weight, self.folder / "filters.png")

    def embeddings(self) -> None:
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        p = self.predictions
        if p.features is None:
            return
        n = min(self.settings.embedding_samples, len(p.labels))
        features, labels = p.features[:n], p.labels[:n]
        # One thread: OpenMP's spinning threads slow t-SNE tenfold when other jobs (a sweep)
        # hold the cores, and a single thread is fast enough for a few thousand points.
        with threadpool_limits(1):
            reduced = PCA(n_components=min(50, *features.shape), random_state=0).fit_transform(
                features
            )
            perplexity = min(30.0, (n - 1) / 3)
            tsne = TSNE(
                n_components=2, perplexity=perplexity, init="pca", random_state=0
            ).fit_transform(reduced)
            purity = metrics.cluster_purity(features, labels)
        self.summary["kmeans_purity"] = purity
        title = (
            f"penultimate features of {n} test images ({features.shape[1]} dimensions); "
            f"k-means with k = {len(np.unique(labels))}: cluster purity {purity:.3f}"
        )
        figures.embedding_figure(
            {"PCA": reduced[:, :2], "t-SNE": tsne},
            labels,
            self.class_names,
            title,
            self.folder / "embeddings.png",
        )

    def sliding_window(self) -> None:
        side = self.settings.mosaic_side
        scenes, labels = self.data.scenes("test", side * side)
        if len(scenes) < side * side:
            return
        image = attribution.mosaic(scenes, side).to(self.device)
        window = tuple(scenes.shape[-2:])
        stride = max(1, min(window) // 7)
        probabilities = attribution.sliding_window(self.model, image, window, stride).cpu()
        names = [self.class_names[int(y)] for y in labels]
        figures.sliding_window_figure(
            image.cpu(),
            probabilities,
            names,
            self.class_names,
            window,
            stride,
            self.folder / "sliding_window.png",
        )


def analyse_run(
    model: nn.Module,
    data: LabelledImages,
    run_dir: Path,
    settings: AnalysisSettings,
    history: Path | None = None,
    device: torch.device | None = None,
) -> Path | None:
    """Draw the figures ``settings`` asks for into ``run_dir/analysis`` and write
    ``run_dir/index.html``; returns the page, or None for ``figures: none``.

    ``model`` maps scenes to predictions and has ``.physics``, ``.network`` and ``.task``,
    whose ``analysis()`` names the class that draws the figures; ``history`` is
    the CSV logger's ``metrics.csv`` with the per-epoch losses, when there is one.
    ``device`` is where to compute (the trainer's: Lightning hands the model back on the
    CPU after testing); the model returns to its own device and mode afterwards.
    """
    if settings.figures == "none":
        return None
    was_training, home = model.training, device_of(model)
    try:
        model.to(device or home)
        task = getattr(model, "task", None)
        analysis = task.analysis() if task is not None else RunAnalysis
        analysis(model, data, run_dir / "analysis", settings, history).run()
    finally:
        model.to(home).train(was_training)
    return write_run_page(run_dir)
