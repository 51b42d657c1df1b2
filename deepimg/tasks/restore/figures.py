"""The figures of one restoration run: what the sensor saw, what the classical method made of
it, what the network made of it, and where it still fails.

* ``basic``: a grid of test examples (scene | measurement | classical estimate | network
  output | absolute error, each with its PSNR), the histogram of per-image PSNR for the
  network and the classical baseline, and learning curves of loss and PSNR;
* ``full`` adds the mean absolute error over the test set at every pixel, for the network
  and the baseline: where in the field the system fails (a shift-variant PSF shows here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from deepimg.analysis import plotting as figures
from deepimg.analysis.physics_figures import as_image
from deepimg.analysis.plotting import plt
from deepimg.analysis.run_analysis import Figure, RunAnalysis, Step, device_of
from deepimg.tasks.restore.psnr import psnr_per_image

EXAMPLES = 5  # test images in the grid

FIGURES = [
    Figure(
        "restore_examples.png",
        "Restorations",
        "Test images: the scene, what the sensor measured, the classical estimate, the "
        "network's output (each with its PSNR) and the network's absolute error.",
    ),
    Figure(
        "psnr_histogram.png",
        "Restorations",
        "Per-image PSNR of the network and of the classical estimate alone.",
    ),
    Figure(
        "error_map.png",
        "Error map",
        "Mean absolute error over the test set at every pixel: where in the field the system "
        "fails.",
    ),
]


@dataclass
class Restorations:
    """Per-image PSNR of network and baseline over the test split, the first examples, and the
    summed absolute error maps ``(C, H, W)``."""

    psnr: np.ndarray
    psnr_baseline: np.ndarray
    examples: dict[str, torch.Tensor]
    error_sum: torch.Tensor
    error_sum_baseline: torch.Tensor
    count: int


@torch.no_grad()
def restore_test_split(model, batches, data_range: float) -> Restorations:
    """Run the model (in evaluation mode) over the test split once, keeping what every
    figure needs; ``model`` is an ``ImagingModule`` with a restoration task."""
    psnr, psnr_base, examples = [], [], {}
    error = error_base = 0.0
    count = 0
    for scenes, *_ in batches:
        scenes = scenes.to(device_of(model))
        prediction, estimate, measurement = model.infer(scenes)
        output, estimate = model.task.score(prediction), model.task.score(estimate)
        psnr.append(psnr_per_image(output, scenes, data_range).cpu())
        psnr_base.append(psnr_per_image(estimate, scenes, data_range).cpu())
        error = error + (output - scenes).abs().sum(dim=0).cpu()
        error_base = error_base + (estimate - scenes).abs().sum(dim=0).cpu()
        count += len(scenes)
        if not examples:
            batch = {
                "scene": scenes,
                "measurement": measurement,
                "estimate": estimate,
                "output": output,
            }
            examples = {k: v[:EXAMPLES].cpu() for k, v in batch.items()}
    return Restorations(
        torch.cat(psnr).numpy(), torch.cat(psnr_base).numpy(), examples, error, error_base, count
    )


def restore_examples_figure(examples: dict[str, torch.Tensor], data_range: float, path) -> None:
    """Rows: test images; columns: scene | measurement | estimate | output | |error|."""
    scenes = examples["scene"]
    n = len(scenes)
    columns = ["scene", "measurement", "classical estimate", "network output", "|error|"]
    fig, axes = figures.panel_grid(n, len(columns), (2.0 * len(columns), 2.0 * n))
    error = (examples["output"] - scenes).abs()
    error_max = float(error.max().clamp_min(1e-6))
    for i in range(n):
        panels = {
            "scene": (scenes[i], data_range, ""),
            "measurement": (
                examples["measurement"][i],
                float(max(1.0, examples["measurement"].max())),
                "",
            ),
            "classical estimate": (
                examples["estimate"][i],
                data_range,
                psnr_title(examples["estimate"][i], scenes[i], data_range),
            ),
            "network output": (
                examples["output"][i],
                data_range,
                psnr_title(examples["output"][i], scenes[i], data_range),
            ),
            "|error|": (error[i].mean(dim=0), error_max, ""),
        }
        for j, name in enumerate(columns):
            image, vmax, note = panels[name]
            ax = axes[i, j]
            ax.axis("on")
            cmap = "magma" if name == "|error|" else "gray"
            ax.imshow(as_image(image / vmax), cmap=cmap, vmin=0, vmax=1)
            ax.set_title(f"{name}{note}" if i == 0 else note.strip(" \n"), fontsize=8)
    fig.suptitle(f"test images; |error| of the network, full scale {error_max:.3g}", fontsize=9)
    figures.save(fig, path)


def psnr_title(estimate: torch.Tensor, scene: torch.Tensor, data_range: float) -> str:
    value = float(psnr_per_image(estimate[None], scene[None], data_range)[0])
    return f"\n{value:.1f} dB"


def error_map_figure(network: torch.Tensor, baseline: torch.Tensor, path) -> None:
    """Mean absolute error at every pixel (channels averaged), network beside baseline, on
    one colour scale."""
    maps = {"network": network.mean(dim=0), "classical estimate": baseline.mean(dim=0)}
    vmax = float(max(m.max() for m in maps.values()))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), squeeze=False)
    for ax, (name, image) in zip(axes[0], maps.items(), strict=True):
        shown = ax.imshow(image.numpy(), cmap="magma", vmin=0, vmax=vmax)
        ax.set_title(f"{name}: mean |error| {float(image.mean()):.4f}", fontsize=9)
        figures.bare(ax)
    fig.colorbar(shown, ax=axes[0, -1], shrink=0.8)
    fig.suptitle("mean absolute error over the test set, pixel by pixel", fontsize=9)
    figures.save(fig, path)


class RestoreAnalysis(RunAnalysis):
    """The restoration figures (module docstring); learning curves as for classification."""

    metric = "psnr"
    metric_label = "PSNR (dB)"
    figures: ClassVar[list[Figure]] = FIGURES
    loss_label = "loss"

    def task_steps(self) -> list[Step]:
        basic = [
            ("test restorations", self.restore),
            ("examples", self.examples_grid),
            ("PSNR histogram", self.histogram),
        ]
        full = [("error map", self.error_map)]
        return basic + (full if self.settings.figures == "full" else [])

    def restore(self) -> None:
        data_range = self.model.task.data_range
        self.loss_label = f"{self.model.task.loss_name} loss"
        self.restorations = restore_test_split(self.model, self.data.test_dataloader(), data_range)
        r = self.restorations
        self.summary["mean_psnr"] = float(np.mean(r.psnr))
        self.summary["mean_psnr_baseline"] = float(np.mean(r.psnr_baseline))

    def examples_grid(self) -> None:
        data_range = self.model.task.data_range
        restore_examples_figure(
            self.restorations.examples, data_range, self.folder / "restore_examples.png"
        )

    def histogram(self) -> None:
        r = self.restorations
        figures.against_baseline_histogram(
            r.psnr, r.psnr_baseline, "classical estimate", "PSNR of one test image (dB)",
            self.folder / "psnr_histogram.png", unit=" dB",
        )  # fmt: skip

    def error_map(self) -> None:
        r = self.restorations
        error_map_figure(
            r.error_sum / r.count, r.error_sum_baseline / r.count, self.folder / "error_map.png"
        )
