"""The matplotlib set-up every figure module shares: drawing to files only, saved one way."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt", "save"]


def save(fig: plt.Figure, path: Path, dpi: int) -> Path:
    """Lay out, write and close ``fig`` (an open figure holds its memory until closed)."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
