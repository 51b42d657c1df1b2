"""The figures of one localisation run: where the objects were, where the network put them,
and how the error depends on where the object is.

* a grid of test canvases with the true (+) and predicted (x) centres, the sensor's active
  pixels drawn over them when the physical layer has a mask (a learned mask shows where the
  sensors went);
* the error of every test image at its true position, over the canvas;
* learning curves of loss and ``error_px``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from deepimg.analysis import plotting as figures
from deepimg.analysis.physics_figures import as_image
from deepimg.analysis.plotting import plt
from deepimg.analysis.run_analysis import Figure, RunAnalysis, Step, device_of

EXAMPLES = 8

FIGURES = [
    Figure(
        "positions.png",
        "Localisation",
        "Test canvases with the true (+) and predicted (x) centres, and the sensor's active "
        "pixels when it has a mask.",
    ),
    Figure(
        "position_error.png",
        "Localisation",
        "Each test image's error at its true position on the canvas.",
    ),
]


def active_pixels(physics) -> torch.Tensor | None:
    """The sensor's mask ``(H, W)`` when the layer (or a part of a chain) has one."""
    for name, value in physics.maps().items():
        if name == "mask" or name.endswith("_mask"):
            return value.detach().cpu()
    return None


@torch.no_grad()
def locate_test_split(model, batches) -> dict[str, np.ndarray]:
    """True and predicted centres of every test image, and the first canvases."""
    true, predicted, canvases = [], [], []
    for scenes, _, extras in batches:
        scenes = scenes.to(device_of(model))
        predicted.append(model(scenes).cpu())
        true.append(extras["position"])
        if not canvases:
            canvases.append(scenes[:EXAMPLES].cpu())
    return {
        "true": torch.cat(true).numpy(),
        "predicted": torch.cat(predicted).numpy(),
        "canvases": canvases[0],
    }


def positions_figure(result: dict, mask: torch.Tensor | None, path) -> None:
    canvases = result["canvases"]
    n = len(canvases)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = figures.panel_grid(rows, cols, (2.6 * cols, 2.7 * rows))
    for i in range(n):
        ax = axes.flat[i]
        ax.axis("on")
        ax.imshow(as_image(canvases[i]), cmap="gray", vmin=0, vmax=float(max(1.0, canvases.max())))
        if mask is not None:
            ys, xs = np.nonzero(mask.numpy())
            ax.scatter(xs, ys, s=4, marker="s", color="tab:orange", alpha=0.8, linewidths=0)
        (r, c), (pr, pc) = result["true"][i], result["predicted"][i]
        ax.plot(c, r, "+", color="lime", ms=12, mew=2)
        ax.plot(pc, pr, "x", color="red", ms=10, mew=2)
        ax.set_title(f"error {np.hypot(pr - r, pc - c):.1f} px", fontsize=8)
    note = "; orange: the sensor's active pixels" if mask is not None else ""
    fig.suptitle(f"test canvases: true centre (+), predicted (x){note}", fontsize=9)
    figures.save(fig, path)


def error_map_figure(result: dict, size: int, mean_position: np.ndarray, path) -> None:
    """Each test image's error at its true centre, on the canvas."""
    error = np.hypot(*(result["predicted"] - result["true"]).T)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    shown = ax.scatter(
        result["true"][:, 1], result["true"][:, 0], c=error, s=6, cmap="magma_r",
        vmin=0, vmax=float(np.percentile(error, 99)),
    )  # fmt: skip
    ax.plot(mean_position[1], mean_position[0], "*", color="tab:blue", ms=12,
            label="the baseline's answer (mean training position)")  # fmt: skip
    ax.set_xlim(-0.5, size - 0.5)
    ax.set_ylim(size - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xlabel("true column (canvas pixels)")
    ax.set_ylabel("true row")
    ax.legend(fontsize=7, loc="lower right")
    fig.colorbar(shown, ax=ax, label="error (pixels)")
    ax.set_title(f"error against true position: mean {error.mean():.2f} px", fontsize=9)
    figures.save(fig, path)


class LocalizeAnalysis(RunAnalysis):
    """The localisation figures (module docstring)."""

    metric = "error_px"
    metric_label = "error (pixels)"
    figures: ClassVar[list[Figure]] = FIGURES
    loss_label = "smooth L1 loss (pixels)"

    def task_steps(self) -> list[Step]:
        return [
            ("test positions", self.locate),
            ("positions", self.positions),
            ("error map", self.error_map),
        ]

    def locate(self) -> None:
        self.result = locate_test_split(self.model, self.data.test_dataloader())
        error = np.hypot(*(self.result["predicted"] - self.result["true"]).T)
        self.summary["mean_error_px"] = float(error.mean())
        self.summary["median_error_px"] = float(np.median(error))

    def positions(self) -> None:
        positions_figure(self.result, active_pixels(self.physics), self.folder / "positions.png")

    def error_map(self) -> None:
        task = self.model.task
        error_map_figure(
            self.result, task.size, task.mean_position.numpy(), self.folder / "position_error.png"
        )
