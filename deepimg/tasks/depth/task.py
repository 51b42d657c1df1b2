"""Depth: how far is each pixel, read from how the lens blurred it?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError, Metric

from deepimg.config.constraints import Range
from deepimg.data.depth import DepthPlanes
from deepimg.models.base import Output
from deepimg.tasks.base import Mode, Task
from deepimg.tasks.depth.sharpness import SharpnessTable, sharpness

if TYPE_CHECKING:
    from deepimg.physics.base import PhysicalLayer

CALIBRATION_SCENES = 2048  # training scenes that fit the sharpness baseline's table


class WithinTolerance(Metric):
    """The share of pixels whose depth is within ``tolerance`` depth units of the truth."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, tolerance: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tolerance = tolerance
        self.add_state("hit", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.hit += ((preds - target).abs() <= self.tolerance).double().sum()
        self.total += target.numel()

    def compute(self) -> torch.Tensor:
        return (self.hit / self.total).float()


class Depth(Task):
    """The depth map of a scene whose regions lie at different depths (``data/depth.py``),
    imaged through a lens whose PSF changes with depth (``physical_layer=pupil``: its
    ``defocus_per_depth`` and ``focus_depth``; ``Pupil.layered``, the layered model without
    occlusion).

    Each scene is cut into ``regions x regions`` blocks, each on one of ``planes`` depths
    evenly spaced over [``near``, ``far``] (depth units). An image-to-image network (``unet``)
    reads the measurement and answers the depth of every pixel; the loss is the mean squared
    error in depth units. Metrics: ``rmse`` (depth units, monitored) and ``within_tol``, the
    share of pixels within ``tolerance`` of the true depth (by default half the planes'
    spacing: the right plane). Baselines: the mean depth for every pixel (``chance``: a run
    no better learned nothing), and depth from defocus by local sharpness, fitted on
    training scenes through the run's own lens (``rmse_baseline``, ``within_tol_baseline``).
    """

    name = "depth"
    monitor_metric = "rmse"
    directions: ClassVar[dict[str, Mode]] = {"rmse": "min", "within_tol": "max"}
    outputs: ClassVar[tuple[Output, ...]] = ("map",)
    reads_scene_estimate = True

    def __init__(
        self,
        regions: Annotated[int, Range(1, 64)] = 4,
        planes: Annotated[int, Range(2, 64)] = 8,
        near: float = 0.0,
        far: float = 1.0,
        tolerance: Annotated[float, Range(0)] | None = None,
    ) -> None:
        self.field = DepthPlanes(regions, planes, near, far)
        spacing = (far - near) / (planes - 1)
        self.tolerance = spacing / 2 if tolerance is None else tolerance
        self.table = SharpnessTable()

    @property
    def planes(self) -> torch.Tensor:
        return self.field.depths

    def bind(self, data: Any) -> None:
        data.use_depth(self.field)

    def check(self, physics: PhysicalLayer) -> None:
        if not hasattr(physics, "psf_at"):
            raise ValueError(
                f"physical_layer={type(physics).__name__.lower()} has no PSF that changes with "
                "depth; use physical_layer=pupil (its defocus_per_depth and focus_depth)"
            )

    def network_kwargs(self, in_shape: tuple[int, int, int], output: Output) -> dict[str, Any]:
        return {"out_channels": 1}

    def scene_depth(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return batch[2]["depth"]

    def measure(
        self, physics: PhysicalLayer, scenes: torch.Tensor, depth: torch.Tensor | None = None
    ) -> torch.Tensor:
        if depth is None:  # a picture of the layer alone: the scene as if on the focal plane
            return physics(scenes)
        return physics.layered(scenes, depth, self.planes.to(scenes.device))

    def prediction(self, output: torch.Tensor, network_input: torch.Tensor) -> torch.Tensor:
        # The output starts at the middle of the range and spans it at +-1.
        middle, half = (
            (self.field.near + self.field.far) / 2,
            (self.field.far - self.field.near) / 2,
        )
        return middle + half * output

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return batch[2]["depth"]

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(prediction, target)

    def metrics(self) -> dict[str, Metric]:
        return {
            "rmse": MeanSquaredError(squared=False),
            "within_tol": WithinTolerance(self.tolerance),
        }

    def chance(self) -> dict[str, float]:
        """The mean depth everywhere: its RMSE is the spread of the planes' depths."""
        depths = self.planes.double()
        guess = depths.mean()
        return {
            "rmse": float(((depths - guess) ** 2).mean().sqrt()),
            "within_tol": float(((depths - guess).abs() <= self.tolerance).double().mean()),
        }

    @torch.no_grad()
    def calibrate(self, module: Any, data: Any) -> None:
        """Fit the sharpness table on training scenes imaged through the run's lens."""
        train = data.train
        device = next(module.parameters()).device
        features, depths = [], []
        for start in range(0, min(CALIBRATION_SCENES, len(train)), 256):
            scenes, _, extras = train[list(range(start, min(start + 256, len(train))))]
            depth = extras["depth"].to(device)
            measurement = self.measure(module.physics, scenes.to(device), depth)
            features.append(sharpness(measurement).cpu())
            depths.append(depth.cpu())
        self.table.fit(torch.cat(features), torch.cat(depths))

    def baseline_metrics(self) -> dict[str, Metric]:
        return self.metrics()

    def baseline(self, network_input: torch.Tensor) -> torch.Tensor:
        return self.table(sharpness(network_input))

    def per_image(
        self, scored: torch.Tensor, target: torch.Tensor, network_input: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Each scene's RMSE and share within tolerance, and the sharpness baseline's."""
        baseline = self.baseline(network_input)

        def rmse(p: torch.Tensor) -> torch.Tensor:
            return ((p - target) ** 2).flatten(1).mean(dim=1).sqrt()

        def within(p: torch.Tensor) -> torch.Tensor:
            return ((p - target).abs() <= self.tolerance).flatten(1).float().mean(dim=1)

        return {
            "rmse": rmse(scored),
            "within_tol": within(scored),
            "rmse_baseline": rmse(baseline),
            "within_tol_baseline": within(baseline),
        }

    def analysis(self) -> type:
        from deepimg.tasks.depth.figures import DepthAnalysis

        return DepthAnalysis
