"""The matplotlib set-up every figure shares (drawing to files only, saved one way), and the
small helpers that any task's figures use: panel grids, class colours, a histogram of the
network's per-image scores against a classical baseline's."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
from cycler import cycler  # noqa: E402

__all__ = ["DPI", "PAPER", "plt", "save"]

DPI = 110  # the runs' figures; the sweep report uses its own
PAPER = ("png", "pdf", "svg")  # the report's figures: a picture, and vectors for the paper
# Okabe and Ito's palette, told apart by every common form of colour blindness.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
plt.rcParams["axes.prop_cycle"] = cycler(color=OKABE_ITO)


def save(fig: plt.Figure, path: Path, dpi: int = DPI, formats: tuple[str, ...] = ("png",)) -> Path:
    """Lay out, write and close ``fig`` (an open figure holds its memory until closed):
    ``path`` (a PNG), and beside it the other ``formats`` (``PAPER``: PDF and SVG too)."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    for extension in formats:
        if extension != path.suffix.lstrip("."):
            fig.savefig(path.with_suffix(f".{extension}"), dpi=dpi)
    plt.close(fig)
    return path


def class_colours(n: int) -> list:
    """Distinct colours for ``n`` classes: tab10 or tab20 where they suffice."""
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20" if n <= 20 else "turbo")
    return [cmap(i if n <= 20 else i / max(1, n - 1)) for i in range(n)]


def bare(ax: plt.Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def panel_grid(rows: int, cols: int, size: tuple[float, float]) -> tuple[plt.Figure, np.ndarray]:
    """A rows x cols grid of image panels without ticks, hidden until drawn into (``use``)."""
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    for ax in axes.flat:
        bare(ax)
        ax.axis("off")
    return fig, axes


def use(ax: plt.Axes) -> plt.Axes:
    ax.axis("on")
    return ax


def against_baseline_histogram(
    network: np.ndarray,
    baseline: np.ndarray,
    baseline_label: str,
    xlabel: str,
    path: Path,
    unit: str = "",
    bins: np.ndarray | None = None,
) -> Path:
    """Per-image scores of the network and of the classical baseline on one axis (NaN and
    infinite scores left out), each labelled with its mean."""
    network, baseline = (v[np.isfinite(v)] for v in (network, baseline))
    if bins is None:
        both = np.concatenate([network, baseline])
        bins = np.linspace(both.min(), both.max(), 40) if both.size else 10
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for values, label in ((baseline, baseline_label), (network, "network")):
        ax.hist(values, bins=bins, alpha=0.6, label=f"{label}: mean {values.mean():.3f}{unit}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)
