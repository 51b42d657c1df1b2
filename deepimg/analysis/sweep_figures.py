"""Figures of a sweep: each metric against each swept parameter, and heatmaps over two.

Both take the table of finished runs (one row per run: parameter columns, metric columns)
and pool the seeds: a point is the mean over the runs that share every other parameter,
its error bar the standard deviation over them (none with one run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from deepimg.analysis.plotting import plt, save

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
    runs: pd.DataFrame, x: str, others: list[str], metric: str, path: Path, lower: bool = False
) -> Path:
    """``metric`` against parameter ``x``: every run as a faint dot, the mean ± std over
    seeds as a line, one line per setting of the ``others``. A numeric ``x`` is placed by
    value, any other by category. Where the runs also have ``<metric>_baseline`` (the
    classical estimate without a network), it is drawn dashed in the same colour, so the
    plot shows what the network adds to the sensor."""
    runs = runs[runs[x].notna()]  # in a folder of sweeps, the runs that did not sweep x
    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    baseline = f"{metric}_baseline"
    numeric = is_numeric(runs[x])
    categories = sorted(runs[x].astype(str).unique())
    position = (lambda v: v) if numeric else (lambda v: v.astype(str).map(categories.index))
    groups = runs.groupby(others, dropna=False, sort=True) if others else [((), runs)]
    for label, part in groups:
        stats = part.groupby(x, dropna=False, sort=True)[metric].agg(["mean", "std"]).reset_index()
        line = ax.errorbar(
            position(stats[x]),
            stats["mean"],
            yerr=stats["std"],
            marker="o",
            capsize=3,
            label=group_label(others, label) or ("network" if baseline in part else None),
        )
        colour = line[0].get_color()
        ax.scatter(position(part[x]), part[metric], s=10, alpha=0.35, color=colour)
        if baseline in part:
            means = part.groupby(x, dropna=False, sort=True)[baseline].mean().reset_index()
            name = group_label(others, label)
            ax.plot(position(means[x]), means[baseline], "--", color=colour,
                    label=f"{name}: classical estimate" if name else "classical estimate")  # fmt: skip
    if not numeric:
        ax.set_xticks(range(len(categories)), categories, rotation=20)
    elif runs[x].nunique() <= 12:  # a tick at each swept value, not at values never run
        values = sorted(runs[x].unique())
        ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{direction(metric, lower)}\nmean ± std over seeds")
    ax.grid(alpha=0.3)
    if others or baseline in runs:
        ax.legend(fontsize=7)
    return save(fig, path, DPI)


def metric_plot_jobs(
    runs: pd.DataFrame,
    params: list[str],
    metrics: list[str],
    out: Path,
    lower: set[str] = frozenset(),
) -> list[Job]:
    """One plot per metric and swept parameter (the seed excepted): ``<metric>_vs_<param>.png``."""
    jobs = []
    for x in (p for p in params if p != SEED):
        others = [p for p in params if p not in (x, SEED)]
        for m in metrics:
            path = out / f"{slug(m)}_vs_{slug(x)}.png"
            jobs.append(
                (
                    path.name,
                    lambda x=x, o=others, m=m, p=path: metric_plot(runs, x, o, m, p, m in lower),
                )
            )
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
    return save(fig, path, DPI)


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
    for m in metrics:
        path = out / f"{slug(m)}_heatmap_{slug(x)}_{slug(y)}.png"
        jobs.append((path.name, lambda m=m, p=path: heatmap(runs, x, y, others, m, p, m in lower)))
    return jobs
