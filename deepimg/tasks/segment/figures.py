"""The figures of one segmentation run: scene, measurement, predicted and true masks, and how
the Dice coefficient spreads over the test images.

* a grid of test images: scene | measurement | predicted mask | true mask, with each image's
  Dice (network, and the thresholded classical estimate);
* the histogram of per-image Dice for the network and the baseline;
* learning curves of loss and Dice.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from deepimg.analysis import plotting as figures
from deepimg.analysis.physics_figures import as_image
from deepimg.analysis.run_analysis import Figure, RunAnalysis, Step, device_of
from deepimg.tasks.segment.dice import dice_per_image

EXAMPLES = 6

FIGURES = [
    Figure(
        "segment_examples.png",
        "Segmentation",
        "Test images: the scene, what the sensor measured (with the Dice of its thresholded "
        "classical estimate), the predicted and the true mask (with the network's Dice).",
    ),
    Figure(
        "dice_histogram.png",
        "Segmentation",
        "Per-image Dice of the network and of the thresholded classical estimate.",
    ),
]


@torch.no_grad()
def segment_test_split(model, batches) -> dict:
    task = model.task
    dice, dice_base, examples = [], [], {}
    for batch in batches:
        batch = [b.to(device_of(model)) if torch.is_tensor(b) else b for b in batch]
        truth = task.target(batch)
        prediction, estimate, measurement = model.infer(batch[0])
        predicted, baseline = task.score(prediction), task.baseline(estimate)
        dice.append(dice_per_image(predicted, truth, task.num_classes).cpu())
        dice_base.append(dice_per_image(baseline, truth, task.num_classes).cpu())
        if not examples:
            shown = {"scene": batch[0], "measurement": measurement, "predicted": predicted,
                     "truth": truth}  # fmt: skip
            examples = {k: v[:EXAMPLES].cpu() for k, v in shown.items()}
    return {"dice": torch.cat(dice), "dice_baseline": torch.cat(dice_base), "examples": examples}


def overlay_figure(result: dict, path) -> None:
    ex = result["examples"]
    n = len(ex["scene"])
    columns = ["scene", "measurement", "predicted mask", "true mask"]
    fig, axes = figures.panel_grid(n, len(columns), (2.0 * len(columns), 2.0 * n))
    for i in range(n):
        dice = (
            np.nanmean(result["dice"][i].numpy())
            if not result["dice"][i].isnan().all()
            else float("nan")
        )
        base = result["dice_baseline"][i]
        base = np.nanmean(base.numpy()) if not base.isnan().all() else float("nan")
        panels = [
            (as_image(ex["scene"][i]), "gray", ""),
            (as_image(ex["measurement"][i]), "gray", f"threshold: Dice {base:.2f}"),
            (ex["predicted"][i].numpy(), "viridis", f"Dice {dice:.2f}"),
            (ex["truth"][i].numpy(), "viridis", ""),
        ]
        for j, (image, cmap, note) in enumerate(panels):
            ax = axes[i, j]
            ax.axis("on")
            vmax = 1 if cmap == "gray" else max(1, int(ex["truth"].max()))
            ax.imshow(image, cmap=cmap, vmin=0, vmax=vmax if cmap != "gray" else None)
            title = f"{columns[j]}\n{note}" if i == 0 else note
            ax.set_title(title, fontsize=8)
    fig.suptitle("test images: masks with each image's Dice", fontsize=9)
    figures.save(fig, path)


class SegmentAnalysis(RunAnalysis):
    """The segmentation figures (module docstring)."""

    metric = "dice"
    metric_label = "Dice"
    figures: ClassVar[list[Figure]] = FIGURES
    loss_label = "cross-entropy + Dice loss"

    def task_steps(self) -> list[Step]:
        return [
            ("test masks", self.segment),
            ("overlays", self.overlays),
            ("Dice histogram", self.histogram),
        ]

    def segment(self) -> None:
        self.result = segment_test_split(self.model, self.data.test_dataloader())
        per_class = np.nanmean(self.result["dice"].numpy(), axis=0)
        self.summary["dice_per_class"] = {str(k + 1): float(v) for k, v in enumerate(per_class)}

    def overlays(self) -> None:
        overlay_figure(self.result, self.folder / "segment_examples.png")

    def histogram(self) -> None:
        figures.against_baseline_histogram(
            self.result["dice"].numpy().ravel(), self.result["dice_baseline"].numpy().ravel(),
            "threshold of the classical estimate", "Dice of one test image and class",
            self.folder / "dice_histogram.png", bins=np.linspace(0, 1, 41),
        )  # fmt: skip
