"""The task metric against bits per pixel across a sweep's designs: does the estimate rank
the designs as training does?"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from deepimg.analysis.information import BITS
from deepimg.analysis.plotting import PAPER, plt, save
from deepimg.analysis.statistics import CONFIDENCE
from deepimg.analysis.sweep_tables import SEED


def designs(done: pd.DataFrame, params: list[str], metric: str) -> pd.DataFrame:
    """One row per design (setting of the swept keys other than the seed): the means of
    ``metric`` and of bits per pixel over its runs."""
    keys = [p for p in params if p != SEED]
    rows = done.dropna(subset=[metric, BITS])
    if not keys:
        return rows[[metric, BITS]].mean().to_frame().T
    return rows.groupby(keys, dropna=False)[[metric, BITS]].mean().reset_index()


def rank_correlation(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Spearman's rho and its 95% CI by Fisher's z with Bonett and Wright's (2000) standard
    error, sqrt((1 + rho^2 / 2) / (n - 3)), rho taken as at most 0.999 there (a perfect
    ranking of a few designs is no certainty); unknown (NaN) below 4 designs."""
    rho = float(stats.spearmanr(x, y).statistic)
    n = len(x)
    if n < 4 or not math.isfinite(rho):
        return rho, math.nan, math.nan
    clipped = max(-0.999, min(0.999, rho))
    half = stats.norm.ppf(0.5 + CONFIDENCE / 2) * math.sqrt((1 + clipped**2 / 2) / (n - 3))
    z = math.atanh(clipped)
    return rho, math.tanh(z - half), math.tanh(z + half)


def information_answer(done: pd.DataFrame, params: list[str], metric: str) -> str | None:
    """One sentence: how well bits per pixel rank the designs by ``metric``; None where the
    runs do not all have both, or there are fewer than 3 designs."""
    if BITS not in done or metric == BITS or done[BITS].isna().any():
        return None
    table = designs(done, params, metric)
    if len(table) < 3:
        return None
    rho, low, high = rank_correlation(table[BITS].to_numpy(), table[metric].to_numpy())
    ci = "" if math.isnan(low) else f" [{low:+.2f}, {high:+.2f}]"
    return (
        f"{metric} against {BITS} over {len(table)} designs: Spearman's rho {rho:+.2f}{ci} "
        "(95% CI; 1 is the same ranking)"
    )


def information_plot(done: pd.DataFrame, params: list[str], metric: str, path: Path) -> Path:
    """Each design's mean ``metric`` against its mean bits per pixel, labelled by its setting."""
    table = designs(done, params, metric)
    keys = [p for p in params if p != SEED and p in table]
    fig, ax = plt.subplots(figsize=(4.4, 3.2))
    ax.plot(table[BITS], table[metric], "o")
    for _, row in table.iterrows():
        label = ", ".join(f"{row[k]}" for k in keys)
        ax.annotate(label, (row[BITS], row[metric]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")  # fmt: skip
    ax.set_xlabel("bits per pixel (deepimg info's estimate)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    return save(fig, path, formats=PAPER)
