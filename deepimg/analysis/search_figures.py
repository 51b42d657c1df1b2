"""Figures of a search (``hydra/sweeper=search``): the objective against the trial number,
and against each searched parameter.

A search has no grid to average over: each trial is one run at values the sampler chose
after seeing the trials before it. So the figures show every trial as a point, the best
value found so far as a step line, and the best trial as a star.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from deepimg.analysis.plotting import PAPER, plt, save
from deepimg.analysis.sweep_figures import DPI, Job, direction, is_numeric, slug

TRIAL = "trial"


def best_index(values: pd.Series, lower: bool) -> object:
    return values.idxmin() if lower else values.idxmax()


def objective_vs_trial(trials: pd.DataFrame, objective: str, path: Path, lower: bool) -> Path:
    """Each trial's objective, the best so far as a step line, the best trial starred."""
    trials = trials.sort_values(TRIAL)
    values = trials[objective]
    best_so_far = values.cummin() if lower else values.cummax()
    fig, ax = plt.subplots(figsize=(4.8, 3.3))
    ax.scatter(trials[TRIAL], values, s=18, color="tab:blue", label="trial")
    ax.step(trials[TRIAL], best_so_far, where="post", color="tab:orange", label="best so far")
    best = best_index(values, lower)
    ax.scatter([trials.loc[best, TRIAL]], [values[best]], marker="*", s=160, color="tab:red",
               zorder=3, label=f"best: trial {int(trials.loc[best, TRIAL])}")  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(direction(objective, lower))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, path, DPI, PAPER)


def objective_vs_param(
    trials: pd.DataFrame, param: str, objective: str, path: Path, lower: bool
) -> Path:
    """The objective against one searched parameter, coloured by trial number: early trials
    explore, late ones (bright) show where the sampler settled."""
    trials = trials[trials[param].notna()]
    numeric = is_numeric(trials[param])
    categories = sorted(trials[param].astype(str).unique())
    x = trials[param] if numeric else trials[param].astype(str).map(categories.index)
    fig, ax = plt.subplots(figsize=(4.8, 3.3))
    points = ax.scatter(x, trials[objective], c=trials[TRIAL], cmap="viridis", s=22)
    fig.colorbar(points, ax=ax, label="trial")
    best = best_index(trials[objective], lower)
    ax.scatter([x[best]], [trials.loc[best, objective]], marker="*", s=160, color="tab:red",
               zorder=3, label=f"best: {param}={trials.loc[best, param]:.4g}" if numeric
               else f"best: {param}={trials.loc[best, param]}")  # fmt: skip
    if not numeric:
        ax.set_xticks(range(len(categories)), categories, rotation=20)
    elif np.all(trials[param] > 0) and trials[param].max() / trials[param].min() > 50:
        ax.set_xscale("log")  # a log-searched parameter such as a learning rate
    ax.set_xlabel(param)
    ax.set_ylabel(direction(objective, lower))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save(fig, path, DPI, PAPER)


def search_jobs(
    trials: pd.DataFrame, params: list[str], objective: str, out: Path, lower: bool
) -> list[Job]:
    """``search_<objective>_vs_trial.png`` and ``search_<objective>_vs_<param>.png``."""
    trials = trials[trials[objective].notna()]
    if trials.empty:
        return []
    name = slug(objective)
    path = out / f"search_{name}_vs_trial.png"
    jobs: list[Job] = [(path.name, lambda p=path: objective_vs_trial(trials, objective, p, lower))]
    for param in (p for p in params if p != TRIAL):
        path = out / f"search_{name}_vs_{slug(param)}.png"
        jobs.append(
            (path.name, lambda q=param, p=path: objective_vs_param(trials, q, objective, p, lower))
        )
    return jobs
