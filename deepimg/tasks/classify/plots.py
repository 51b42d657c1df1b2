"""The classification figures: each function draws one PNG from numbers computed elsewhere."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from deepimg.analysis.physics_figures import as_image
from deepimg.analysis.plotting import bare, class_colours, panel_grid, plt, save, use
from deepimg.tasks.classify.metrics import Curve

# ---- metrics ----------------------------------------------------------------------------------


def confusion_figure(
    counts: np.ndarray, normalised: np.ndarray, class_names: list[str], path: Path
) -> Path:
    """Counts on the left, row-normalised (each row: where that class's images went) on the right."""
    k = len(class_names)
    side = max(4.0, 0.45 * k + 2)
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1, side))
    for ax, matrix, title, fmt in (
        (axes[0], counts, "counts", "d"),
        (axes[1], normalised, "row-normalised (recall on the diagonal)", ".2f"),
    ):
        im = ax.imshow(matrix, cmap="Blues", vmin=0)
        ax.set_title(title)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_xticks(range(k), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(k), class_names, fontsize=7)
        if k <= 20:  # numbers in the cells while they still fit
            top = matrix.max() or 1
            for i, j in np.ndindex(matrix.shape):
                if matrix[i, j] == 0:
                    continue  # blank cells make the confusions stand out
                colour = "white" if matrix[i, j] > 0.6 * top else "black"
                label = format(matrix[i, j], fmt)
                ax.text(j, i, label, ha="center", va="center", fontsize=6, color=colour)
        fig.colorbar(im, ax=ax, fraction=0.046)
    return save(fig, path)


def curves_figure(
    curves: list[Curve],
    class_names: list[str],
    kind: str,
    path: Path,
    baseline: np.ndarray | None = None,
) -> Path:
    """One-vs-rest ROC (``kind="roc"``) or precision-recall (``kind="pr"``) curves, one per class."""
    fig, ax = plt.subplots(figsize=(6, 5))
    colours = class_colours(len(class_names))
    score = "AUROC" if kind == "roc" else "AP"
    where = "post" if kind == "roc" else "pre"  # how each curve's points are joined
    for curve, name, colour in zip(curves, class_names, colours, strict=True):
        label = f"{name} ({score} {curve.score:.3f})"
        ax.step(curve.x, curve.y, where=where, color=colour, lw=1.2, label=label)
    mean = np.nanmean([c.score for c in curves])
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="chance")
        ax.set(
            xlabel="false-positive rate",
            ylabel="true-positive rate",
            title=f"ROC, one vs rest (macro AUROC {mean:.3f})",
        )
    else:
        if baseline is not None:  # a classifier that guesses scores each class's prevalence
            chance = float(np.mean(baseline))
            ax.axhline(chance, ls="--", color="grey", lw=0.8, label="chance (mean prevalence)")
        ax.set(
            xlabel="recall",
            ylabel="precision",
            title=f"precision-recall, one vs rest (mean AP {mean:.3f})",
        )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(
        fontsize=6, loc="lower right" if kind == "roc" else "lower left", ncol=1 + len(curves) // 12
    )
    return save(fig, path)


def embedding_figure(
    points: dict[str, np.ndarray],
    labels: np.ndarray,
    class_names: list[str],
    title: str,
    path: Path,
) -> Path:
    """Side-by-side 2-D embeddings (name -> ``(N, 2)``), points coloured by true class."""
    fig, axes = plt.subplots(1, len(points), figsize=(5.2 * len(points), 4.8), squeeze=False)
    colours = class_colours(len(class_names))
    for ax, (name, xy) in zip(axes[0], points.items(), strict=True):
        for k, (cls, colour) in enumerate(zip(class_names, colours, strict=True)):
            mine = labels == k
            ax.scatter(
                xy[mine, 0], xy[mine, 1], s=4, color=colour, label=cls, alpha=0.7, linewidths=0
            )
        ax.set_title(name)
        bare(ax)
    axes[0, -1].legend(fontsize=7, markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.suptitle(title, fontsize=9)
    return save(fig, path)


# ---- the network ------------------------------------------------------------------------------


def filters_figure(weight: torch.Tensor, path: Path, limit: int = 64) -> Path:
    """First-layer kernels ``(O, I, k, k)``: colour when I = 3, else input channel 0, each on
    a grey scale symmetric about zero (grey = 0, white = positive, black = negative)."""
    w = weight.detach().cpu().float()[:limit]
    n = len(w)
    cols = min(n, 16)
    rows = math.ceil(n / cols)
    fig, axes = panel_grid(rows, cols, (0.7 * cols + 0.4, 0.7 * rows + 0.6))
    for ax, kernel in zip(map(use, axes.flat), w, strict=False):
        if kernel.shape[0] == 3:
            scale = kernel.abs().max().clamp_min(1e-12)
            ax.imshow((kernel / scale * 0.5 + 0.5).permute(1, 2, 0).numpy())
        else:
            top = float(kernel[0].abs().max()) or 1.0
            ax.imshow(kernel[0].numpy(), cmap="gray", vmin=-top, vmax=top)
    channels = "" if w.shape[1] in (1, 3) else f", input channel 0 of {w.shape[1]}"
    fig.suptitle(
        f"first-layer filters ({n} of {len(weight)}, {w.shape[2]}x{w.shape[3]}{channels})",
        fontsize=9,
    )
    return save(fig, path)


# ---- attribution ------------------------------------------------------------------------------


def saliency_figure(
    scenes: torch.Tensor,
    sensed: torch.Tensor,
    maps: torch.Tensor,
    titles: list[str],
    note: str,
    columns: int,
    path: Path,
) -> Path:
    """For each example, three panels one above the other: the scene, what the sensor
    delivered, and the saliency over the scene (each map scaled to its own maximum).
    Examples fill ``columns`` columns, row block after row block."""
    blocks = math.ceil(len(scenes) / columns)
    fig, axes = panel_grid(3 * blocks, columns, (1.3 * columns + 0.6, 1.35 * 3 * blocks + 0.5))
    for i in range(len(scenes)):
        block, col = divmod(i, columns)
        panels = (as_image(scenes[i]), as_image(sensed[i]), maps[i].numpy())
        for row, (image, cmap) in enumerate(zip(panels, ("gray", "gray", "inferno"), strict=True)):
            ax = use(axes[3 * block + row, col])
            ax.imshow(image, cmap=cmap, **({"vmin": 0, "vmax": 1} if row == 0 else {}))
            if col == 0:
                ax.set_ylabel(("scene", "sensor", "saliency")[row], fontsize=7)
        axes[3 * block, col].set_title(titles[i], fontsize=7)
    fig.suptitle(f"|d class score / d scene| through the physical layer{note}", fontsize=9)
    return save(fig, path)


def signed_overlay(values: np.ndarray) -> np.ndarray:
    """RGBA for a signed map: red positive, blue negative, opacity growing with |value|
    (scaled to the map's own largest magnitude), so the picture below shows where it is 0."""
    top = float(np.abs(values).max()) or 1.0
    rgba = plt.get_cmap("bwr")(0.5 + 0.5 * values / top)
    rgba[..., 3] = 0.85 * np.abs(values) / top
    return rgba


def occlusion_figure(
    scenes: torch.Tensor,
    maps: list[torch.Tensor],
    titles: list[str],
    columns: int,
    patch: int,
    path: Path,
) -> Path:
    """Each scene in grey with its occlusion map on top: red where hiding the scene lowers the
    class's probability, blue where it raises it; each map on its own scale, whose largest
    drop is in the panel's title."""
    rows = math.ceil(len(scenes) / columns)
    fig, axes = panel_grid(rows, columns, (1.4 * columns + 0.4, 1.55 * rows + 0.5))
    for ax, scene, heat, title in zip(map(use, axes.flat), scenes, maps, titles, strict=False):
        ax.imshow(as_image(scene), cmap="gray", vmin=0, vmax=1)
        ax.imshow(signed_overlay(heat.numpy()))
        ax.set_title(f"{title} (max {float(heat.max()):+.2f})", fontsize=7)
    fig.suptitle(
        f"occlusion sensitivity: drop of the class probability when a {patch}x{patch} square "
        "is set to the scene's mean (red: hiding hurts, blue: hiding helps)",
        fontsize=9,
    )
    return save(fig, path)


def window_extent(image_size: tuple[int, int], window: tuple[int, int], stride: int) -> tuple:
    """Where a map of window positions lies over the image: each map pixel centred on the
    centre of its window (matplotlib's extent: left, right, bottom, top)."""
    (h, w), (wh, ww) = image_size, window
    return (
        ww / 2 - stride / 2,
        w - ww / 2 + stride / 2,
        h - wh / 2 + stride / 2,
        wh / 2 - stride / 2,
    )


def over_image(
    ax: plt.Axes, image: torch.Tensor, overlay: np.ndarray, extent: tuple, **style
) -> None:
    """``overlay`` drawn at ``extent`` on top of ``image`` in grey, framed to the image."""
    _, h, w = image.shape
    ax.imshow(as_image(image), cmap="gray", vmin=0, vmax=1, extent=(0, w, h, 0))
    ax.imshow(overlay, extent=extent, **style)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)


def sliding_window_figure(
    image: torch.Tensor,
    probabilities: torch.Tensor,
    tile_names: list[str],
    class_names: list[str],
    window: tuple[int, int],
    stride: int,
    path: Path,
) -> Path:
    """The mosaic (each tile's true class in yellow), the most probable class at each window
    position (colour: the class, brightness: its probability), then one probability map
    per class (the first ten)."""
    shown = min(len(class_names), 10)
    cols = min(2 + shown, 6)
    rows = math.ceil((2 + shown) / cols)
    fig, axes = panel_grid(rows, cols, (2.3 * cols, 2.4 * rows))
    _, h, w = image.shape
    side = round(math.sqrt(len(tile_names)))

    ax = use(axes.flat[0])
    ax.imshow(as_image(image), cmap="gray", vmin=0, vmax=1, extent=(0, w, h, 0))
    for i, name in enumerate(tile_names):
        x, y = (i % side + 0.5) * w / side, (i // side + 0.1) * h / side
        ax.text(x, y, name, color="yellow", fontsize=5, ha="center", va="top")
    ax.set_title(f"mosaic, window {window[0]}x{window[1]}, stride {stride}", fontsize=7)

    extent = window_extent((h, w), window, stride)
    colours = np.array(class_colours(len(class_names)))
    confidence, best = probabilities.max(dim=0)
    rgb = colours[best.numpy()][..., :3] * confidence.numpy()[..., None]
    over_image(use(axes.flat[1]), image, rgb, extent, alpha=0.75)
    axes.flat[1].set_title("most probable class (dark: unsure)", fontsize=7)

    for c in range(shown):
        ax = use(axes.flat[2 + c])
        over_image(
            ax, image, probabilities[c].numpy(), extent, cmap="viridis", vmin=0, vmax=1, alpha=0.8
        )
        ax.set_title(f"p({class_names[c]})", fontsize=7, color=colours[c])
    return save(fig, path)
