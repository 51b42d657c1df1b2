"""The numbers behind the per-run figures, from predictions on the test split.

Everything here works on plain arrays: ``labels`` (N,) integer classes, ``probabilities``
(N, K) rows that sum to 1, ``features`` (N, D). scikit-learn does the counting; this module
only arranges its results for the figures and tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Curve:
    """One class's one-vs-rest curve: x and y coordinates and the area-like summary score."""

    x: np.ndarray
    y: np.ndarray
    score: float


def confusion_counts(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """``counts[i, j]``: test images of true class i predicted as class j."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(labels, predicted, labels=np.arange(num_classes))


def row_normalised(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its total: the diagonal is each class's recall. Empty rows stay 0."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def per_class_table(
    labels: np.ndarray, predicted: np.ndarray, class_names: list[str]
) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, then their unweighted mean."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=np.arange(len(class_names)), zero_division=0
    )
    table = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(class_names, name="class"),
    )
    mean = table[["precision", "recall", "f1"]].mean()
    table.loc["macro average"] = [*mean, int(support.sum())]
    table["support"] = table["support"].astype(int)
    return table


def roc_curves(labels: np.ndarray, probabilities: np.ndarray) -> list[Curve]:
    """One-vs-rest ROC of each class: false-positive rate, true-positive rate, AUROC.

    A class absent from ``labels`` has no ROC (no positives): its AUROC is NaN.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    curves = []
    for k in range(probabilities.shape[1]):
        positive = labels == k
        if positive.all() or not positive.any():
            curves.append(Curve(np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan")))
            continue
        fpr, tpr, _ = roc_curve(positive, probabilities[:, k])
        curves.append(Curve(fpr, tpr, float(roc_auc_score(positive, probabilities[:, k]))))
    return curves


def pr_curves(labels: np.ndarray, probabilities: np.ndarray) -> list[Curve]:
    """One-vs-rest precision-recall curve of each class: recall, precision, average precision."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    curves = []
    for k in range(probabilities.shape[1]):
        positive = labels == k
        if not positive.any():
            curves.append(Curve(np.array([0.0, 1.0]), np.array([0.0, 0.0]), float("nan")))
            continue
        precision, recall, _ = precision_recall_curve(positive, probabilities[:, k])
        ap = float(average_precision_score(positive, probabilities[:, k]))
        curves.append(Curve(recall, precision, ap))
    return curves


def cluster_purity(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """k-means with k = the number of classes, then the share of images whose cluster's
    majority class is their own: 1 when the features separate the classes perfectly."""
    from sklearn.cluster import KMeans
    from sklearn.metrics.cluster import contingency_matrix

    k = len(np.unique(labels))
    clusters = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(features)
    table = contingency_matrix(labels, clusters)  # classes x clusters
    return float(table.max(axis=0).sum() / len(labels))
