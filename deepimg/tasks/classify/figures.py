"""The figures of a classification run, and their captions on the run's page.

``analysis=basic`` (seconds): confusion matrices with the per-class table, ROC and
precision-recall curves (and the learning curves every run has). ``analysis=full`` (half a
minute on a CPU) adds saliency and occlusion maps on the scene, the first-layer filters,
t-SNE and PCA of the penultimate features with k-means purity, and a sliding-window
class-probability map over a mosaic of test scenes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Protocol

import numpy as np
import torch
from torch import nn

from deepimg.analysis.run_analysis import Figure, RunAnalysis, Step
from deepimg.analysis.spreadsheets import write_csv
from deepimg.tasks.classify import attribution, metrics, plots
from deepimg.tasks.classify.predictions import Predictions, predict

EXAMPLE_POOL = 2000  # test scenes searched for examples of each class
MAX_CLASSES_SHOWN = 10  # classes in the per-example figures

FIGURES = [  # in the order the page shows them
    Figure(
        "confusion.png",
        "Confusion matrix",
        "Test images by true class (rows) and predicted class (columns): counts, and each "
        "row divided by its total.",
        table="per_class.csv",
    ),
    Figure("roc.png", "ROC and precision-recall", "One-vs-rest ROC curves with AUROC."),
    Figure(
        "pr.png",
        "ROC and precision-recall",
        "One-vs-rest precision-recall curves with average precision (AP).",
    ),
    Figure(
        "saliency.png",
        "Saliency",
        "The gradient of the true class's score with respect to the scene, through the "
        "physical layer, beside the sensor image the network saw.",
    ),
    Figure(
        "occlusion.png",
        "Occlusion",
        "How much hiding each part of the scene lowers the true class's probability.",
    ),
    Figure("filters.png", "First-layer filters", "The kernels of the first convolution."),
    Figure(
        "embeddings.png",
        "Learned features",
        "PCA and t-SNE of the penultimate features of test images, coloured by true class, "
        "and the purity of a k-means clustering of them.",
    ),
    Figure(
        "sliding_window.png",
        "Sliding window",
        "A window of the training image size slides over a mosaic of test scenes; each map "
        "shows one class's probability at every position.",
    ),
]


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


class ClassifyAnalysis(RunAnalysis):
    """The figures of one trained classifier on its test split, each made by one method."""

    metric = "acc"
    metric_label = "accuracy"
    loss_label = "cross-entropy loss"
    figures: ClassVar[list[Figure]] = FIGURES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.class_names = list(self.data.class_names)
        self.predictions: Predictions | None = None

    def task_steps(self) -> list[Step]:
        basic = [
            ("test predictions", self.predict),
            ("confusion matrix", self.confusion),
            ("ROC and precision-recall", self.curves),
        ]
        full = [
            ("saliency", self.saliency),
            ("occlusion", self.occlusion),
            ("first-layer filters", self.filters),
            ("t-SNE, PCA, k-means", self.embeddings),
            ("sliding window", self.sliding_window),
        ]
        return basic + (full if self.settings.figures == "full" else [])

    # ---- basic ------------------------------------------------------------------------------

    def predict(self) -> None:
        want_features = self.settings.figures == "full"
        tested = getattr(self.model, "test_scores", lambda: None)()
        if not want_features and tested is not None and len(tested[1]) == self.test_size():
            logits, labels = tested  # the test just predicted every image: no second pass
            self.predictions = Predictions(labels.numpy(), logits.float().softmax(dim=1).numpy())
            return
        self.predictions = predict(
            self.model, self.network, self.data.test_dataloader(), want_features
        )

    def test_size(self) -> int:
        """The test split's length (a DDP rank tested only its share: that does not do)."""
        return len(self.data.test_dataloader().dataset)

    def confusion(self) -> None:
        p = self.predictions
        counts = metrics.confusion_counts(p.labels, p.predicted, len(self.class_names))
        plots.confusion_figure(
            counts, metrics.row_normalised(counts), self.class_names, self.folder / "confusion.png"
        )
        table = metrics.per_class_table(p.labels, p.predicted, self.class_names)
        write_csv(table, self.folder / "per_class.csv", float_format="%.4f")

    def curves(self) -> None:
        p = self.predictions
        roc = metrics.roc_curves(p.labels, p.probabilities)
        pr = metrics.pr_curves(p.labels, p.probabilities)
        prevalence = np.bincount(p.labels, minlength=len(self.class_names)) / len(p.labels)
        plots.curves_figure(roc, self.class_names, "roc", self.folder / "roc.png")
        plots.curves_figure(pr, self.class_names, "pr", self.folder / "pr.png", baseline=prevalence)
        self.summary["macro_auroc"] = float(np.nanmean([c.score for c in roc]))
        self.summary["mean_average_precision"] = float(np.nanmean([c.score for c in pr]))

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
        plots.saliency_figure(
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
        plots.occlusion_figure(
            scenes.cpu(), maps, titles, classes, patch, self.folder / "occlusion.png"
        )

    def filters(self) -> None:
        convs = [m for m in self.network.modules() if isinstance(m, nn.Conv2d)]
        if convs:
            plots.filters_figure(convs[0].weight, self.folder / "filters.png")

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
        plots.embedding_figure(
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
        plots.sliding_window_figure(
            image.cpu(),
            probabilities,
            names,
            self.class_names,
            window,
            stride,
            self.folder / "sliding_window.png",
        )
