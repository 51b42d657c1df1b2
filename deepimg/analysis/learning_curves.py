"""Learning curves of any run: the per-epoch losses and the task's metric from the CSV
logger's ``metrics.csv``, a one-line diagnosis (under-, good or overfitting), and its figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from deepimg.analysis.plotting import plt, save


def learning_history(metrics_csv: Path, metric: str) -> pd.DataFrame:
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


def diagnose(history: pd.DataFrame, metric: str | None = None, tolerance: float = 0.05) -> str:
    """One line: underfitting, good fit, or overfitting from epoch N.

    * Overfitting: validation loss rose more than ``tolerance`` (relative) above its
      minimum at epoch N, while the training loss went on falling.
    * Underfitting: validation loss still fell by more than ``tolerance / 2`` in the last
      epoch, so more epochs (or a larger network) would help.
    * Good fit: neither; validation loss is flat near its minimum. The line adds the
      train-val gap of the task's ``metric`` where both were logged.

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
    if metric and f"train/{metric}" in history and f"val/{metric}" in history:
        difference = history[f"train/{metric}"].iloc[-1] - history[f"val/{metric}"].iloc[-1]
        gap = f", train-val {metric} gap {difference:+.3f}"
    return f"good fit: val loss flat near its minimum {val[best]:.3f} (epoch {best_epoch}){gap}"


def learning_curves_figure(
    history: pd.DataFrame,
    diagnosis: str,
    path: Path,
    metric: str,
    metric_label: str,
    loss_label: str = "loss",
) -> Path:
    """Train and val loss (left) and the task's ``metric`` (right) per epoch; the diagnosis
    as the title, a dotted line at the lowest validation loss."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, quantity in zip(axes, ("loss", metric), strict=True):
        for split, style in (("train", "-o"), ("val", "-s")):
            column = f"{split}/{quantity}"
            if column in history:
                ax.plot(history["epoch"], history[column], style, ms=4, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(loss_label if quantity == "loss" else metric_label)
        ax.grid(alpha=0.3)
        ax.legend()
        if len(history) <= 20:  # a tick at each epoch, none between
            ax.set_xticks(history["epoch"])
    best = history["epoch"].iloc[int(history["val/loss"].to_numpy().argmin())]
    axes[0].axvline(best, color="grey", ls=":", lw=1)
    fig.suptitle(diagnosis, fontsize=9)
    return save(fig, path)
