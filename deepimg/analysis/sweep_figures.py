"""Figures of a sweep: each metric against each swept parameter, and heatmaps over two.

Both take the table of finished runs (one row per run: parameter columns, metric columns)
and pool the seeds: a point is the mean over the runs that share every other parameter,
its error bar the 95% CI that ``analysis.comparisons`` computed (over the test images and
seeds where runs saved per-image results, else over the seeds), none with one value. Each
is saved as PNG, PDF and SVG, in a colour-blind-safe palette.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from deepimg.analysis.plotting import PAPER, plt, save

SEED = "seed"
DPI = 130
MAX_PANELS = 6  # heatmaps per metric, one per setting of the parameters not on its axes

Job = tuple[str, Callable[[], Path]]


def slug(text: str) -> str:
    """``test/acc`` -> ``test_acc``: a name safe in file names and URLs."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def group_label(keys: list[str], values: object) -> str:
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=False))


def direction(metric: str, lower: bool) -> str:
    return f"{metric} ({'lower' if lower else 'higher'} is better)"


def metric_plot(
    runs: pd.DataFrame,
    x: str,
    others: list[str],
    metric: str,
    path: Path,
    lower: bool = False,
    points: pd.DataFrame | None = None,
) -> Path:
    """``metric`` against parameter ``x``: every run as a faint dot, the mean with its 95% CI
    (``points``: rows of parameter, context, metric, value, mean, low, high), one series per
    setting of the ``others``. A numeric ``x`` is placed by value and joined by a line; a
    categorical one is drawn as points with CI bars, never a line between categories. Where
    the runs also have ``<metric>_baseline`` (the classical estimate without a network), it
    is drawn dashed in the same colour, so the plot shows what the network adds."""
    runs = runs[runs[x].notna()]  # in a folder of sweeps, the runs that did not sweep x
    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    baseline = f"{metric}_baseline"
    numeric = is_numeric(runs[x])
    categories = sorted(runs[x].astype(str).unique())
    position = (lambda v: v) if numeric else (lambda v: v.astype(str).map(categories.index))
    groups = runs.groupby(others, dropna=False, sort=True) if others else [((), runs)]
    for label, part in groups:
        name = group_label(others, label)
        stats = part.groupby(x, dropna=False, sort=True)[metric].mean().reset_index()
        low, high = confidence(points, x, name, metric, stats)
        line = ax.errorbar(
            position(stats[x]),
            stats[metric],
            yerr=np.clip([stats[metric] - low, high - stats[metric]], 0, None),
            marker="o",
            linestyle="-" if numeric else "none",
            capsize=3,
            label=name or ("network" if baseline in part else None),
        )
        colour = line[0].get_color()
        ax.scatter(position(part[x]), part[metric], s=10, alpha=0.35, color=colour)
        if baseline in part:
            means = part.groupby(x, dropna=False, sort=True)[baseline].mean().reset_index()
            ax.plot(position(means[x]), means[baseline], "--", color=colour,
                    marker="" if numeric else "_", markersize=14,
                    label=f"{name}: classical estimate" if name else "classical estimate")  # fmt: skip
    if not numeric:
        ax.set_xticks(range(len(categories)), categories, rotation=20)
        ax.set_xlim(-0.5, len(categories) - 0.5)
    elif runs[x].nunique() <= 12:  # a tick at each swept value, not at values never run
        values = sorted(runs[x].unique())
        ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{direction(metric, lower)}\nmean, 95% CI")
    ax.grid(alpha=0.3)
    if others or baseline in runs:
        ax.legend(fontsize=7)
    return save(fig, path, DPI, PAPER)


def confidence(
    points: pd.DataFrame | None, x: str, context: str, metric: str, stats: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """The 95% CI of each mean in ``stats`` (by value of ``x``) from ``points``; the mean
    itself (no bar) where none is known."""
    low, high = stats[metric].to_numpy(float).copy(), stats[metric].to_numpy(float).copy()
    if points is None or points.empty:
        return low, high
    mine = points[
        (points["parameter"] == x) & (points["context"] == context) & (points["metric"] == metric)
    ]
    for i, value in enumerate(stats[x]):
        row = mine[mine["value"].astype(str) == str(value)]
        if len(row) and np.isfinite(row["low"].iloc[0]) and np.isfinite(row["high"].iloc[0]):
            low[i], high[i] = row["low"].iloc[0], row["high"].iloc[0]
    return low, high


def metric_plot_jobs(
    runs: pd.DataFrame,
    params: list[str],
    metrics: list[str],
    out: Path,
    lower: set[str] = frozenset(),
    points: pd.DataFrame | None = None,
) -> list[Job]:
    """One plot per metric and swept parameter (the seed excepted): ``<metric>_vs_<param>.png``.
    A baseline (``<metric>_baseline``) is drawn inside its metric's plot, never alone."""
    jobs = []
    shown = [
        m
        for m in metrics
        if not (m.endswith("_baseline") and m.removesuffix("_baseline") in metrics)
    ]
    for x in (p for p in params if p != SEED):
        others = [p for p in params if p not in (x, SEED)]
        for m in shown:
            path = out / f"{slug(m)}_vs_{slug(x)}.png"
            plot = lambda x=x, o=others, m=m, p=path: metric_plot(  # noqa: E731
                runs, x, o, m, p, m in lower, points
            )
            jobs.append((path.name, plot))
    return jobs


def heatmap(
    runs: pd.DataFrame,
    x: str,
    y: str,
    others: list[str],
    metric: str,
    path: Path,
    lower: bool = False,
) -> Path:
    """Mean ``metric`` over seeds on the grid of the numeric parameters ``x`` and ``y``,
    one panel per setting of the ``others`` (at most MAX_PANELS); the colour map runs from
    worse (dark) to better (bright) in the metric's direction."""
    panels = (
        list(runs.groupby(others, dropna=False, sort=True))[:MAX_PANELS] if others else [((), runs)]
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.9), squeeze=False)
    low, high = runs[metric].min(), runs[metric].max()
    for ax, (label, part) in zip(axes[0], panels, strict=True):
        grid = part.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")
        im = ax.imshow(
            grid.to_numpy(),
            origin="lower",
            cmap="viridis_r" if lower else "viridis",
            vmin=low,
            vmax=high,
            aspect="auto",
        )
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            if not np.isnan(value):
                ax.text(
                    j,
                    i,
                    f"{value:.3f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value < (low + high) / 2 else "black",
                )
        ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(group_label(others, label) or f"mean {metric}", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046, label=direction(metric, lower))
    return save(fig, path, DPI, PAPER)


def heatmap_jobs(
    runs: pd.DataFrame,
    params: list[str],
    metrics: list[str],
    out: Path,
    lower: set[str] = frozenset(),
) -> list[Job]:
    """With two or more numeric swept parameters, a heatmap per metric over the first two:
    ``<metric>_heatmap_<x>_<y>.png``."""
    numeric = [p for p in params if p != SEED and is_numeric(runs[p])]
    if len(numeric) < 2:
        return []
    x, y = numeric[:2]
    others = [p for p in params if p not in (x, y, SEED)]
    jobs = []
    for m in (m for m in metrics if not m.endswith("_baseline")):
        path = out / f"{slug(m)}_heatmap_{slug(x)}_{slug(y)}.png"
        jobs.append((path.name, lambda m=m, p=path: heatmap(runs, x, y, others, m, p, m in lower)))
    return jobs
