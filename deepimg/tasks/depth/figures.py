"""The figures of one depth run: how the lens encodes depth, and what the network read back.

* the PSF at each depth plane of the run's lens (a learned lens shows what it learned;
  compare the fixed lens's run beside it);
* test scenes, their measurements, and the true and predicted depth maps (and the
  sharpness baseline's);
* learning curves of loss and ``rmse``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from deepimg.analysis import plotting as figures
from deepimg.analysis.physics_figures import as_image
from deepimg.analysis.run_analysis import Figure, RunAnalysis, Step

EXAMPLES = 4

FIGURES = [
    Figure(
        "psf_stack.png",
        "Depth",
        "The lens's PSF at each depth plane, near to far (each scaled to its own peak); "
        "the title gives the focal plane.",
    ),
    Figure(
        "depth_maps.png",
        "Depth",
        "Test scenes, what the sensor saw, and the depth maps: true, predicted by the "
        "network, and by local sharpness (the classical baseline).",
    ),
]


def psf_stack_figure(psfs: torch.Tensor, depths: torch.Tensor, focus: float, path) -> None:
    n = len(psfs)
    fig, axes = figures.panel_grid(1, n, (1.3 * n, 1.6))
    for ax, psf, z in zip(axes.flat, psfs, depths.tolist(), strict=True):
        ax.imshow(psf.numpy(), cmap="magma")
        ax.set_title(f"z = {z:+.2f}", fontsize=7)
    fig.suptitle(f"PSF against depth (in focus at z = {focus:g})", fontsize=9)
    figures.save(fig, path)


def depth_maps_figure(shown: dict[str, torch.Tensor], near: float, far: float, path) -> None:
    rows = len(next(iter(shown.values())))
    fig, axes = figures.panel_grid(rows, len(shown), (1.7 * len(shown), 1.8 * rows))
    for c, (name, images) in enumerate(shown.items()):
        for r in range(rows):
            ax = axes[r, c] if rows > 1 else axes[c]
            if name in ("scene", "measurement"):
                ax.imshow(as_image(images[r]), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(images[r, 0].numpy(), cmap="viridis", vmin=near, vmax=far)
            if r == 0:
                ax.set_title(name, fontsize=8)
    fig.suptitle(f"depth from {near:g} (dark) to {far:g} (bright)", fontsize=9)
    figures.save(fig, path)


class DepthAnalysis(RunAnalysis):
    """The depth figures (module docstring)."""

    metric = "rmse"
    metric_label = "depth RMSE (depth units)"
    figures: ClassVar[list[Figure]] = FIGURES
    loss_label = "mean squared error (depth units squared)"

    def task_steps(self) -> list[Step]:
        return [("PSF stack", self.psf_stack), ("depth maps", self.depth_maps)]

    @torch.no_grad()
    def psf_stack(self) -> None:
        psf_at = getattr(self.physics, "psf_at", None)
        if psf_at is None:
            return
        depths = self.model.task.planes
        psf_stack_figure(
            psf_at(depths.to(self.device)).cpu(), depths, float(self.physics.focus_depth),
            self.folder / "psf_stack.png",
        )  # fmt: skip

    @torch.no_grad()
    def depth_maps(self) -> None:
        task = self.model.task
        scenes, _, extras = next(iter(self.data.test_dataloader()))
        scenes, depth = scenes[:EXAMPLES].to(self.device), extras["depth"][:EXAMPLES]
        inference = self.model.infer(scenes, depth.to(self.device))
        shown = {
            "scene": scenes.cpu(),
            "measurement": inference.measurement.cpu(),
            "true depth": depth,
            "network": task.score(inference.prediction).cpu(),
            "sharpness": task.baseline(inference.network_input).cpu(),
        }
        depth_maps_figure(shown, task.field.near, task.field.far, self.folder / "depth_maps.png")
