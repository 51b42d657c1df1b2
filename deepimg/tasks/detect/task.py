"""Detection and counting: which objects are on the canvas, where, and how many?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import torch
import torch.nn.functional as F
from torchmetrics import Metric

from deepimg.config.constraints import Range
from deepimg.models.base import Output
from deepimg.tasks.base import Mode, Task
from deepimg.tasks.detect import centres
from deepimg.tasks.detect.components import components
from deepimg.tasks.detect.metrics import CountAccuracy, Evaluations, MeanAP

if TYPE_CHECKING:
    from deepimg.physics.base import PhysicalLayer


class Detect(Task):
    """Every object on a canvas of 1 to ``objects`` scenes (``deepimg/data/scatter.py``):
    its box and class, and their number.

    The network reads the classical estimate of the scene, averaged over ``stride`` x
    ``stride`` canvas pixels, and answers a centre heat map per class plus the box's size on
    that grid (``centres.py``, after CenterNet, whose output stride is 4); a detection is a
    local maximum of the heat map, at most ``keep`` a canvas. A stride of 2 costs the
    network a quarter of the full resolution's time, and loses nothing to a sensor of at
    most half the canvas's pixels a side.
    Metrics: ``map50`` (COCO mAP at IoU 0.5, monitored), ``map`` (mAP over IoU 0.5:0.95) and
    ``count_acc``, the share of canvases whose detections scoring at least
    ``count_threshold`` number exactly their objects, each object once (two detections
    within 1.5 cells are one; null: the threshold that counts the validation canvases
    best, fitted before each test; 0.3 until then). The baseline thresholds the classical
    estimate at ``threshold`` of full scale and takes its connected components, each one
    object of the most common training class (``components.py``): ``map50_baseline`` and
    ``count_acc_baseline``.

    ``overlap`` is the largest IoU two objects' boxes may have. Needs an image-to-image
    network (``unet``). Test-time flips do not apply (the boxes would move); an ensemble
    averages its members' heat maps and sizes before decoding.
    """

    name = "detect"
    monitor_metric = "map50"
    directions: ClassVar[dict[str, Mode]] = {"map50": "max", "map": "max", "count_acc": "max"}
    outputs: ClassVar[tuple[Output, ...]] = ("map",)
    reads_scene_estimate = True
    keeps_test_scores = True  # the count's confusion matrix reads the test's detections

    def __init__(
        self,
        objects: Annotated[int, Range(1, 20)] = 3,
        overlap: Annotated[float, Range(0, 1)] = 0.1,
        keep: Annotated[int, Range(1, 100)] = 20,
        count_threshold: Annotated[float, Range(0, 1)] | None = None,
        threshold: Annotated[float, Range(0, 1)] = 0.1,
        stride: Annotated[int, Range(1, 8)] = 2,
    ) -> None:
        self.objects, self.overlap, self.keep, self.stride = objects, overlap, keep, stride
        self.count_threshold, self.threshold = count_threshold, threshold
        self.counting = 0.3 if count_threshold is None else count_threshold  # the one in use
        self.classes, self.scale, self.common_class = 1, 1.0, 0
        self.class_names: list[str] = []

    def bind(self, data: Any) -> None:
        data.use_scatter(self.objects, self.overlap)
        self.classes, self.class_names = data.num_classes, list(data.class_names)
        self.scale = float(max(data.raw.train_images.shape[-2:]))  # sizes in scene sides
        self.common_class = int(data.train.labels.bincount().argmax())

    def network_kwargs(self, in_shape: tuple[int, int, int], output: Output) -> dict[str, Any]:
        return {"out_channels": self.classes + 2}  # a heat map a class, then (w, h)

    def network_input(self, physics: PhysicalLayer, measurement: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(physics.to_scene(measurement), self.stride, ceil_mode=True)

    def network_input_shape(self, physics: PhysicalLayer) -> tuple[int, int, int]:
        c, h, w = physics.in_shape
        return c, -(-h // self.stride), -(-w // self.stride)

    def prediction(self, output: torch.Tensor, network_input: torch.Tensor) -> torch.Tensor:
        # The centre logits start at CenterNet's prior (0.1), as its bias initialisation does.
        heat = output[:, : self.classes] + centres.PRIOR_LOGIT
        return torch.cat([heat, output[:, self.classes :]], dim=1)

    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``(B, N, 5)``: each object's box ``(x1, y1, x2, y2)`` and class (-1: none)."""
        extras = batch[2]
        return torch.cat([extras["boxes"], extras["box_labels"].unsqueeze(-1).float()], dim=-1)

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        boxes, labels = target[..., :4], target[..., 4].long()
        cells = tuple(prediction.shape[-2:])
        heat = centres.heat_target(boxes / self.stride, labels, self.classes, cells)
        k = self.classes
        focal = centres.focal_loss(prediction[:, :k], heat)
        size = centres.size_loss(prediction[:, k : k + 2], boxes, labels, self.scale, self.stride)
        return focal + centres.SIZE_WEIGHT * size

    def score(self, prediction: torch.Tensor) -> torch.Tensor:
        """The detections ``(B, keep, 6)``: ``(x1, y1, x2, y2, score, class)``."""
        return centres.decode(prediction, self.classes, self.scale, self.keep, self.stride)

    def metrics(self) -> dict[str, Metric]:
        shared = Evaluations()  # one COCO evaluation for both
        return {
            "map50": MeanAP(iou=0.5, evaluations=shared),
            "map": MeanAP(evaluations=shared),
            "count_acc": CountAccuracy(self.counting_threshold, self.radius),
        }

    @property
    def radius(self) -> float:
        """Pixels within which two detections are one object when counting."""
        return centres.COUNT_RADIUS * self.stride

    def counting_threshold(self) -> float:
        return self.counting

    def training_metrics(self) -> dict[str, Metric]:
        return {"count_acc": CountAccuracy(self.counting_threshold, self.radius)}  # mAP: seconds

    def baseline_metrics(self) -> dict[str, Metric]:
        # A component is one object, whatever its score (its mean brightness): count them all.
        return {"map50": MeanAP(iou=0.5), "count_acc": CountAccuracy(0.0)}

    @torch.no_grad()
    def calibrate(self, module: Any, data: Any) -> None:
        """With ``count_threshold`` null, the score from which a detection counts: the one
        that counts the validation canvases best (never the test's)."""
        if self.count_threshold is not None:
            return
        device = next(module.parameters()).device
        found, true = [], []
        for batch in data.val_dataloader():
            found.append(self.score(module(batch[0].to(device))).cpu())
            true.append(centres.objects(self.target(batch)))
        found, true = torch.cat(found), torch.cat(true)
        grid = torch.linspace(0.05, 0.95, 19)
        right = torch.stack([(centres.counts(found, t, self.radius) == true).float().mean()
                             for t in grid])  # fmt: skip
        self.counting = float(grid[int(right.argmax())])

    def baseline(self, network_input: torch.Tensor) -> torch.Tensor:
        found = components(network_input, self.threshold, self.common_class, self.keep)
        found[..., :4] *= self.stride  # in canvas pixels, as the boxes are
        return found

    def per_image(
        self, scored: torch.Tensor, target: torch.Tensor, network_input: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Whether each canvas's objects were counted exactly, by the network and by the
        baseline (mAP is a property of the whole test set, not of one image)."""
        true = centres.objects(target)
        found = centres.counts(scored, self.counting, self.radius)
        classical = centres.counts(self.baseline(network_input), 0.0)
        return {
            "count_acc": (found == true).float(),
            "count_acc_baseline": (classical == true).float(),
        }

    def analysis(self) -> type:
        from deepimg.tasks.detect.figures import DetectAnalysis

        return DetectAnalysis
