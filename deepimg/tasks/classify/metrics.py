"""The numbers behind the per-run figures, from predictions on the test split.

Everything here works on plain arrays: ``labels`` (N,) integer classes, ``probabilities``
(N, K) rows that sum to 1, ``features`` (N, D). scikit-learn does the counting; this module
only arranges its results for the figures and tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


# ---- learning curves --------------------------------------------------------------------------


def learning_history(metrics_csv: Path, metric: str = "acc") -> pd.DataFrame:
    """Per-epoch train and val loss and ``metric`` (the task's: accuracy, PSNR ...) from the
    CSV logger's ``metrics.csv``.

    The logger writes one row per logging call (train and val rows of an epoch apart, and
    step rows in between); grouping by epoch and taking the logged value gathers them.
    Epochs are numbered from 1. Epochs without a validation value are dropped.
    """
    wanted = ("train/loss", "val/loss", f"train/{metric}", f"val/{metric}")
    raw = pd.read_csv(metrics_csv)
    columns = [c for c in wanted if c in raw.columns]
    if "epoch" not in raw.columns or "val/loss" not in columns:
        return pd.DataFrame(columns=["epoch", *wanted])
    history = raw.groupby("epoch")[columns].last().dropna(subset=["val/loss"]).reset_index()
    history["epoch"] = history["epoch"].astype(int) + 1
    return history


def diagnose(history: pd.DataFrame, tolerance: float = 0.05) -> str:
    """One line: underfitting, good fit, or overfitting from epoch N.

    * Overfitting: validation loss rose more than ``tolerance`` (relative) above its
      minimum at epoch N, while the training loss went on falling.
    * Underfitting: validation loss still fell by more than ``tolerance / 2`` in the last
      epoch, so more epochs (or a larger network) would help.
    * Good fit: neither; validation loss is flat near its minimum.

    When both losses rose, training itself was unstable, and the line says so instead.
    """
    if len(history) < 2:
        return "one epoch only: too few points to diagnose; train for more epochs"
    val, train = history["val/loss"].to_numpy(), history["train/loss"].to_numpy()
    best = int(np.argmin(val))
    best_epoch = int(history["epoch"].iloc[best])
    rise = val[-1] / val[best] - 1
    if best < len(val) - 1 and rise > tolerance:
        if train[-1] >= train[best]:  # both rose: the optimisation, not the fit, went wrong
            return (
                f"unstable training: val and train loss both rose after epoch {best_epoch}; "
                "lower the learning rate"
            )
        return (
            f"overfitting from epoch {best_epoch}: val loss {val[-1]:.3f} is {100 * rise:.0f}% "
            f"above its minimum {val[best]:.3f}, while train loss fell to {train[-1]:.3f}"
        )
    last_drop = 1 - val[-1] / val[-2]
    if last_drop > tolerance / 2:
        return (
            f"underfitting: val loss still fell {100 * last_drop:.0f}% in the last epoch "
            f"(to {val[-1]:.3f}); train longer or use a larger network"
        )
    gap = ""
    if "train/acc" in history and "val/acc" in history:
        gap = f", train-val accuracy gap {history['train/acc'].iloc[-1] - history['val/acc'].iloc[-1]:+.3f}"
    return f"good fit: val loss flat near its minimum {val[best]:.3f} (epoch {best_epoch}){gap}"
