"""Localisation: where on the canvas is the object?"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torchmetrics import Metric

from deepimg.models.base import Output
from deepimg.tasks.base import Mode, Task


class PositionError(Metric):
    """The mean Euclidean distance between predicted and true positions, in canvas pixels;
    with ``within``, the share of predictions closer than that instead."""

    full_state_update = False

    def __init__(self, within: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.within = within
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        distance = (preds - target).double().norm(dim=1)
        values = distance if self.within is None else (distance <= self.within).double()
        self.total += values.sum()
        self.count += len(values)

    def compute(self) -> torch.Tensor:
        return (self.total / self.count).float()


def soft_argmax(heat: torch.Tensor) -> torch.Tensor:
    """The expected (row, col) under ``softmax`` of a heat map ``(B, 1, h, w)``, in its pixels."""
    b, _, h, w = heat.shape
    p = heat.flatten(1).softmax(dim=1).view(b, h, w)
    rows = torch.arange(h, device=heat.device, dtype=heat.dtype)
    cols = torch.arange(w, device=heat.device, dtype=heat.dtype)
    return torch.stack([(p.sum(dim=2) * rows).sum(dim=1), (p.sum(dim=1) * cols).sum(dim=1)], dim=1)


class Localize(Task):
    """The (row, col) of the object's centre on its canvas (``dataset.canvas``; when it is
    null, twice the scenes' side: 56 for 28x28 scenes), in canvas pixels.

    Two heads, chosen by the network: a classifier network (``cnn``, ``locally_connected``)
    regresses the position with a 2-unit coordinate head, ``p = (S - 1) / 2 + (S / 2) o``,
    so it starts at the canvas centre; an image-to-image one (``unet``) gives a heat map
    whose soft-argmax is the position, scaled from its grid to the canvas. Loss: smooth L1
    on the position in pixels (``beta`` pixels). Metrics: ``error_px``, the mean Euclidean
    error, and ``within_2px``, the share of objects found within 2 pixels; the baseline
    answers the mean position of the training set for every image, so a report shows how
    much the sensor tells. The best checkpoint has the lowest ``val/error_px``.
    """

    name = "localize"
    monitor_metric = "error_px"
    directions: ClassVar[dict[str, Mode]] = {"error_px": "min", "within_2px": "max"}
    outputs: ClassVar[tuple[Output, ...]] = ("vector", "map")  # coordinates or a heat map

    def __init__(self, beta: float = 1.0) -> None:
        self.beta = beta
        self.size = 0
        self.mean_position = torch.zeros(2)

    def bind(self, data: Any) -> None:
        data.use_canvas()  # dataset.canvas, or twice the scenes' side
        self.size = data.canvas.size
        self.mean_position = data.positions("train", 10**9).mean(dim=0)  # all of train

    def network_kwargs(self, in_shape: tuple[int, int, int], output: Output) -> dict[str, Any]:
        if output == "vector":
            return {"num_classes": 2}  # the coordinate head
        return {"out_channels": 1}  # a heat map

    def prediction(self, output: torch.Tensor, network_input: torch.Tensor) -> torch.Tensor:
        if output.ndim == 2:
            return (self.size - 1) / 2 + output * (self.size / 2)
        h, w = output.shape[-2:]
        grid = soft_argmax(output)  # in the heat map's pixels; scale pixel centres to the canvas
        scale = torch.tensor([self.size / h, self.size / w], device=output.device)
        return (grid + 0.5) * scale - 0.5

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return batch[2]["position"]

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.smooth_l1_loss(prediction, target, beta=self.beta)

    def metrics(self) -> dict[str, Metric]:
        return {"error_px": PositionError(), "within_2px": PositionError(within=2.0)}

    def per_image(
        self, scored: torch.Tensor, target: torch.Tensor, network_input: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Each image's position error in canvas pixels, whether it is within 2 pixels, and
        the error of the baseline (the mean training position)."""
        error = (scored - target).double().norm(dim=1).float()
        baseline = (self.baseline(network_input) - target).double().norm(dim=1).float()
        return {
            "error_px": error,
            "within_2px": (error <= 2.0).float(),
            "error_px_baseline": baseline,
        }

    def baseline_metrics(self) -> dict[str, Metric]:
        return {"error_px": PositionError()}

    def baseline(self, network_input: torch.Tensor) -> torch.Tensor:
        return self.mean_position.to(network_input.device).expand(len(network_input), 2)

    def analysis(self) -> type:
        from deepimg.tasks.localize.figures import LocalizeAnalysis

        return LocalizeAnalysis
