"""A task that lives outside deepimg: the brightness of the scene (its mean and its spread),
read from the measurement. It proves that a task is one class plus one YAML: nothing under
``deepimg/`` names it, yet it trains, is reported, and has its figure on the run's page."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError, Metric

from deepimg.analysis.plotting import plt, save
from deepimg.analysis.run_analysis import Figure, RunAnalysis, Step
from deepimg.tasks.base import Mode, Task


def brightness(scenes: torch.Tensor) -> torch.Tensor:
    """``(B, 2)``: each scene's mean and standard deviation over its pixels."""
    flat = scenes.flatten(1)
    return torch.stack([flat.mean(dim=1), flat.std(dim=1)], dim=1)


class ProbeFigures(RunAnalysis):
    """One figure: predicted against true mean brightness of the test scenes."""

    metric = "mae"
    metric_label = "mean absolute error"
    figures: ClassVar[list[Figure]] = [
        Figure("brightness.png", "Brightness", "Predicted against true mean brightness.")
    ]

    def task_steps(self) -> list[Step]:
        return [("brightness", self.scatter)]

    @torch.no_grad()
    def scatter(self) -> None:
        scenes, _ = self.data.scenes("test", 200)
        predicted = self.model(scenes.to(self.device)).cpu().numpy()
        true = brightness(scenes).numpy()
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(true[:, 0], predicted[:, 0], s=6)
        ax.set(xlabel="true mean", ylabel="predicted mean")
        save(fig, self.folder / "brightness.png")
        self.summary["brightness_corr"] = float(np.corrcoef(true[:, 0], predicted[:, 0])[0, 1])


class Probe(Task):
    """Mean and spread of the scene's brightness, from the measurement; loss MSE, metric MAE."""

    name = "probe"
    monitor_metric = "mae"
    directions: ClassVar[dict[str, Mode]] = {"mae": "min"}
    outputs = ("vector",)

    def network_kwargs(self, in_shape: tuple[int, int, int], output: str) -> dict[str, Any]:
        return {"num_classes": 2}

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return brightness(batch[0])

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(prediction, target)

    def metrics(self) -> dict[str, Metric]:
        return {"mae": MeanAbsoluteError()}

    def analysis(self) -> type:
        return ProbeFigures
