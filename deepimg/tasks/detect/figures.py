"""The figures of one detection run: what was found where, and how well it was counted.

* a grid of test canvases with the true boxes (green) and the detections that count
  (red, with their class and score);
* the confusion matrix of the count: true number of objects against the number counted;
* learning curves of loss and ``count_acc``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from deepimg.analysis import plotting as figures
from deepimg.analysis.physics_figures import as_image
from deepimg.analysis.plotting import plt
from deepimg.analysis.run_analysis import Figure, RunAnalysis, Step
from deepimg.tasks.detect.centres import counts, objects

EXAMPLES = 8

FIGURES = [
    Figure(
        "boxes.png",
        "Detection",
        "Test canvases with the true boxes (green) and the detections that count (red: class "
        "and score), as the sensor's classical estimate shows them.",
    ),
    Figure(
        "count_confusion.png",
        "Detection",
        "The count over the whole test split: true number of objects (rows) against the "
        "number of detections that count (columns); the diagonal is right.",
    ),
]


def draw_box(ax: plt.Axes, box, colour: str, text: str | None = None) -> None:
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    # Pixel (r, c) is drawn centred at (c, r): its edges are at c - 0.5 and c + 0.5.
    ax.add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                               edgecolor=colour, linewidth=1.2))  # fmt: skip
    if text:
        ax.text(x1 - 0.5, y1 - 0.8, text, color=colour, fontsize=6, va="bottom")


def boxes_figure(
    canvases: torch.Tensor,
    target: torch.Tensor,
    detections: torch.Tensor,
    threshold: float,
    class_names: list[str],
    path,
    size: int | None = None,
    radius: float = 0.0,
) -> None:
    """Each canvas with its true boxes and the detections scoring at least ``threshold``;
    the title's count takes each object once, as ``count_acc`` does (``radius``)."""
    n = len(canvases)
    counted, true = counts(detections, threshold, radius), objects(target)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = figures.panel_grid(rows, cols, (2.8 * cols, 2.9 * rows))
    for i in range(n):
        ax = axes.flat[i]
        side = size or canvases.shape[-1]  # the canvas's pixels, whatever the image's grid
        ax.imshow(as_image(canvases[i]), cmap="gray", vmin=0, vmax=float(max(1.0, canvases.max())),
                  extent=(-0.5, side - 0.5, side - 0.5, -0.5))  # fmt: skip
        for box in target[i][target[i][:, 4] >= 0]:
            draw_box(ax, box, "lime")
        shown = detections[i][(detections[i][:, 4] >= threshold) & (detections[i][:, 5] >= 0)]
        for box in shown:
            name = class_names[int(box[5])] if int(box[5]) < len(class_names) else str(int(box[5]))
            draw_box(ax, box, "red", f"{name} {float(box[4]):.2f}")
        many = int(true[i])
        ax.set_title(f"{many} object{'s' * (many != 1)}, {int(counted[i])} counted", fontsize=8)
    fig.suptitle("test canvases: true boxes (green), detections (red)", fontsize=9)
    figures.save(fig, path)


def count_confusion_figure(true: np.ndarray, counted: np.ndarray, path) -> None:
    top = int(max(true.max(), counted.max()))
    matrix = np.zeros((top + 1, top + 1), dtype=int)
    np.add.at(matrix, (true, counted), 1)
    fig, ax = plt.subplots(figsize=(4.4, 3.8))
    shown = ax.imshow(matrix, cmap="Blues")
    for (r, c), v in np.ndenumerate(matrix):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                    color="white" if v > matrix.max() / 2 else "black")  # fmt: skip
    ax.set_xlabel("objects counted")
    ax.set_ylabel("objects on the canvas")
    ax.set_xticks(range(top + 1))
    ax.set_yticks(range(top + 1))
    fig.colorbar(shown, ax=ax, label="test canvases")
    ax.set_title(f"count exactly right: {np.mean(true == counted):.1%}", fontsize=9)
    figures.save(fig, path)


class DetectAnalysis(RunAnalysis):
    """The detection figures (module docstring)."""

    metric = "count_acc"
    metric_label = "counting accuracy"
    figures: ClassVar[list[Figure]] = FIGURES
    loss_label = "focal + size loss"

    def task_steps(self) -> list[Step]:
        return [("boxes", self.boxes), ("count confusion", self.count_confusion)]

    @torch.no_grad()
    def boxes(self) -> None:
        task = self.model.task
        scenes, _, extras = next(iter(self.data.test_dataloader()))
        scenes = scenes[:EXAMPLES].to(self.device)
        inference = self.model.infer(scenes)
        target = task.target((scenes, None, {k: v[:EXAMPLES] for k, v in extras.items()}))
        boxes_figure(
            inference.network_input.cpu(), target.cpu(), task.score(inference.prediction).cpu(),
            task.counting, task.class_names, self.folder / "boxes.png", scenes.shape[-1],
            task.radius,
        )  # fmt: skip

    def count_confusion(self) -> None:
        task = self.model.task
        tested = getattr(self.model, "test_scores", lambda: None)()
        if tested is None:  # the figures drawn again from a checkpoint: predict the test split
            parts = []
            with torch.no_grad():
                for batch in self.data.test_dataloader():
                    scenes = batch[0].to(self.device)
                    parts.append((task.score(self.model(scenes)).cpu(), task.target(batch)))
            tested = torch.cat([p for p, _ in parts]), torch.cat([t for _, t in parts])
        detections, target = tested
        true = objects(target).numpy()
        counted = counts(detections, task.counting, task.radius).numpy()
        self.summary["count_acc"] = float(np.mean(true == counted))
        self.summary["count_threshold"] = task.counting
        count_confusion_figure(true, counted, self.folder / "count_confusion.png")
