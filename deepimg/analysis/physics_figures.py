"""Pictures of the physical layer: example scenes before and after it, and its parameter maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from deepimg.analysis.plotting import plt, save
from deepimg.analysis.run_analysis import device_of

if TYPE_CHECKING:
    from deepimg.physics.base import PhysicalLayer

DPI = 120


def as_image(t: torch.Tensor) -> np.ndarray:
    """(C, H, W) -> (H, W) for one channel, (H, W, 3) for three, else the first channel."""
    a = t.detach().cpu().float().numpy()
    if a.ndim == 2:
        return a
    return a.transpose(1, 2, 0).clip(0, 1) if a.shape[0] == 3 else a[0]


def save_examples(
    scenes: torch.Tensor, sensed: torch.Tensor, titles: list[str], path: Path, layer: str = ""
) -> Path:
    """Two rows: the scenes, and what the sensor delivered for each; ``layer`` names the sensor."""
    n = len(scenes)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.6), squeeze=False)
    for i in range(n):
        for row, batch, label in ((0, scenes, "scene"), (1, sensed, "sensor")):
            ax = axes[row, i]
            ax.imshow(as_image(batch[i]), cmap="gray", vmin=0, vmax=float(max(1.0, batch.max())))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label)
        axes[0, i].set_title(titles[i], fontsize=8)
    if layer:
        fig.suptitle(layer, fontsize=9)
    return save(fig, path, DPI)


def save_map(name: str, value: torch.Tensor, folder: Path, picture: bool = True) -> list[Path]:
    """A parameter as ``<name>.npy`` (exact numbers) and, unless it is a single number or
    ``picture`` is false, ``<name>.png``: a bar chart for a vector, one panel a channel for a map."""
    array = value.detach().cpu().float().numpy()
    np.save(folder / f"{name}.npy", array)
    if array.ndim == 0 or not picture:
        return [folder / f"{name}.npy"]  # one number: examples.png's title shows it too
    if array.ndim == 1:
        fig = bar_chart(name, array)
    else:
        fig = map_panels(name, array if array.ndim == 3 else array[None])
    return [folder / f"{name}.npy", save(fig, folder / f"{name}.png", DPI)]


def bar_chart(name: str, values: np.ndarray) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(max(3.4, 0.4 * len(values)), 3))
    ax.bar(range(len(values)), values)
    ax.set_xticks(range(len(values)))
    ax.set_xlabel("index")
    ax.set_title(name)
    return fig


def map_panels(name: str, panels: np.ndarray) -> plt.Figure:
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3), squeeze=False)
    for c, panel in enumerate(panels):
        im = axes[0, c].imshow(panel, cmap="viridis")
        axes[0, c].set_title(f"{name}" + (f" [channel {c}]" if len(panels) > 1 else ""))
        axes[0, c].set_xticks([])
        axes[0, c].set_yticks([])
        fig.colorbar(im, ax=axes[0, c], fraction=0.046)
    return fig


def save_grids(
    name: str, scene: torch.Tensor, grids: list[tuple[torch.Tensor, torch.Tensor]], path: Path
) -> Path:
    """The pixel grids (row and column edges in scene pixels) drawn over one scene, a colour
    a grid: where each camera's or each sensor pixel's boundaries fall on what it sees."""
    height, width = scene.shape[-2:]
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.imshow(as_image(scene), cmap="gray", extent=(0, width, height, 0), vmin=0, vmax=1)
    colours = plt.get_cmap("tab10")
    for n, (rows, cols) in enumerate(grids):
        style = {"color": colours(n % 10), "linewidth": 1.0, "alpha": 0.85}
        for r in rows.cpu().tolist():
            ax.axhline(r, **style)
        for c in cols.cpu().tolist():
            ax.axvline(c, **style)
        ax.plot([], [], label=f"grid {n}" if len(grids) > 1 else "pixel edges", **style)
    ax.set_xlim(-0.5, width + 0.5)
    ax.set_ylim(height + 0.5, -0.5)
    ax.legend(loc="upper right", fontsize=6, framealpha=0.6)
    ax.set_title(f"{name} over a scene (scene pixels)", fontsize=9)
    return save(fig, path, DPI)


def save_curves(
    name: str, x: torch.Tensor, x_label: str, lines: dict[str, torch.Tensor], path: Path
) -> Path:
    """Curves over a common axis (filters and spectra over wavelength): dashed for curves
    labelled as emission, solid for the rest."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for label, y in lines.items():
        style = "--" if "emission" in label else "-"
        ax.plot(x.cpu().numpy(), y.detach().cpu().numpy(), style, label=label, linewidth=1.4)
    ax.set_xlabel(x_label)
    ax.set_ylim(-0.02, 1.05)
    ax.legend(fontsize=7, ncol=2, loc="upper right")
    ax.set_title(name)
    return save(fig, path, DPI)


def save_maps(physics: PhysicalLayer, folder: Path, pictures: bool = True) -> list[Path]:
    """Every map the layer reports, into ``folder`` (made if need be), as numbers and, with
    ``pictures``, as pictures (``save_map``): a run's design, or a stage's."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        p for name, value in physics.maps().items() for p in save_map(name, value, folder, pictures)
    ]


@torch.no_grad()
def save_physics_figures(
    physics: PhysicalLayer, scenes: torch.Tensor, titles: list[str], folder: Path
) -> list[Path]:
    """``examples.png`` and every map, grid and curve the layer reports, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    was_training = physics.training
    physics.eval()
    device = device_of(physics, default=scenes.device)
    sensed = physics(scenes.to(device)).cpu()
    physics.train(was_training)
    layer = f"{type(physics).__name__}({physics.extra_repr()})"
    paths = [save_examples(scenes, sensed, titles, folder / "examples.png", layer)]
    paths += save_maps(physics, folder)
    for name, edges in physics.grids().items():
        paths.append(save_grids(name, scenes[0], edges, folder / f"{name}.png"))
    for name, (x, x_label, lines) in physics.curves().items():
        paths.append(save_curves(name, x, x_label, lines, folder / f"{name}.png"))
    return paths
