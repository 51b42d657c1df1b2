"""The contract every task keeps: what is learned from the sensor's measurement, and how it is judged.

A run is ``scene -> physical layer -> measurement -> network -> prediction``, and the task
fills in everything that is not physics or network:

* ``target(batch)``: what a batch asks for (a class, the scene itself, a position); a batch
  is ``(scenes, labels)``, plus the objects' positions on a canvas (``dataset.canvas``) or
  the masks of a segmentation folder;
* ``network_input(physics, measurement)``: what the network reads (the measurement, or a
  classical estimate of the scene made from it), and ``prediction(output, network_input)``:
  how the network's output becomes the answer (for restoration: the estimate plus the
  residual the network learned);
* ``scene_depth(batch)`` and ``measure(physics, scenes, depth)``: for scenes whose pixels lie
  at depths (``task=depth``), the depth map and the image through each depth's PSF; other
  tasks measure ``physics(scenes)``. ``check(physics)`` refuses a layer the task cannot
  image through; ``calibrate(module, data)`` fits, before each test, what a baseline or a
  threshold needs (never on the test split);
* ``outputs``: what the network must output, a ``vector`` or a ``map``, in order of
  preference; ``network_kwargs(in_shape, output)``: the size of that output;
* ``loss``, and ``metrics()``: torchmetrics metrics, each with a direction (higher or
  lower is better) in ``directions``;
* ``monitor`` and ``mode``: the validation metric that checkpointing and early stopping
  follow; ``objective`` (``val/<metric>_best``) is the number a Hydra sweeper receives:
  always a validation metric, never a test metric;
* ``baseline_metrics()`` and ``baseline(network_input)``: the same metrics for a classical
  answer without a network (logged as ``test/<metric>_baseline``), where one exists;
* ``analysis()``: the per-run figures and their captions (``<task>/figures.py``);
  ``per_image(...)``: each test image's results, for comparisons paired image by image;
* capabilities that the rest of deepimg asks instead of the task's name:
  ``mixes_labels`` (mixup and cutmix can blend two targets) and ``flip_invariant`` (a
  mirrored or shifted scene has the same answer, so test-time augmentation applies).

The LightningModule (``deepimg.training.module``) is one class for every task. Networks
state what they output (``outputs`` in ``deepimg.models``); ``deepimg.training.build``
refuses a network that outputs nothing the task can use.
"""

from __future__ import annotations

import importlib
import inspect
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torchmetrics import Metric

from deepimg.models.base import Output

if TYPE_CHECKING:
    from deepimg.physics.base import PhysicalLayer

Mode = Literal["max", "min"]


class Task(ABC):
    """One kind of question asked of the measurement; subclasses fill in the contract."""

    name: ClassVar[str]
    monitor_metric: ClassVar[str]  # the metric's name without stage, e.g. "acc"
    directions: ClassVar[dict[str, Mode]]  # every metric's direction, e.g. {"acc": "max"}
    outputs: ClassVar[tuple[Output, ...]]  # what the network may output, preferred first
    mixes_labels: ClassVar[bool] = False  # a target that two scenes can share (mixup, cutmix)
    flip_invariant: ClassVar[bool] = False  # the answer survives a mirrored or shifted scene
    keeps_test_scores: ClassVar[bool] = False  # the test keeps every image's score for the figures

    @property
    def monitor(self) -> str:
        """The validation metric that picks the best checkpoint and stops training early."""
        return f"val/{self.monitor_metric}"

    @property
    def mode(self) -> Mode:
        return self.directions[self.monitor_metric]

    @property
    def objective(self) -> str:
        """What ``deepimg train`` returns to Hydra's sweepers: the best validation value."""
        return f"{self.monitor}_best"

    def direction(self, monitor: str) -> Mode | None:
        """The direction of a validation metric (``val/dice`` -> max, ``val/loss`` -> min), or
        None where the task logs no such metric."""
        if monitor == "val/loss":
            return "min"
        name = monitor.removeprefix("val/")
        return self.directions.get(name) if monitor.startswith("val/") else None

    @property
    def headline(self) -> list[str]:
        """The metrics a report shows by default, test first."""
        return [f"test/{m}" for m in self.directions]

    def bind(self, data: Any) -> None:  # noqa: B027 - optional hook
        """Learn what the task needs from the data module (class count, dynamic range)."""

    @abstractmethod
    def network_kwargs(self, in_shape: tuple[int, int, int], output: Output) -> dict[str, Any]:
        """The arguments that size the network's ``output``: ``{"num_classes": 10}`` for a
        vector, ``{"out_channels": 3}`` for a map."""

    # Image-to-image tasks read the layer's classical estimate of the scene, at the scene's
    # shape; the others read the measurement as the sensor delivers it.
    reads_scene_estimate: ClassVar[bool] = False

    def network_input(self, physics: PhysicalLayer, measurement: torch.Tensor) -> torch.Tensor:
        """What the network reads: the measurement, or ``physics.to_scene(measurement)``."""
        return physics.to_scene(measurement) if self.reads_scene_estimate else measurement

    def scene_depth(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor | None:
        """Where a batch's pixels lie ``(B, 1, H, W)``, for a task whose scenes have depth;
        None for flat scenes (every task but depth)."""
        return None

    def measure(
        self, physics: PhysicalLayer, scenes: torch.Tensor, depth: torch.Tensor | None = None
    ) -> torch.Tensor:
        """What the sensor delivers: ``physics(scenes)``, or for scenes with ``depth`` the
        image through each depth's PSF (``physics.layered``)."""
        return physics(scenes)

    def check(self, physics: PhysicalLayer) -> None:  # noqa: B027 - optional hook
        """Refuse, with a ValueError of one line, a physical layer the task cannot image
        through (before any training); every layer by default."""

    def calibrate(self, module: Any, data: Any) -> None:  # noqa: B027 - optional hook
        """Fit what the baseline needs through the run's physics (``module``) on training
        scenes, before each test; nothing by default."""

    def network_input_shape(self, physics: PhysicalLayer) -> tuple[int, int, int]:
        return physics.in_shape if self.reads_scene_estimate else physics.out_shape

    def prediction(self, output: torch.Tensor, network_input: torch.Tensor) -> torch.Tensor:
        """The answer made of the network's output; by default the output itself."""
        return output

    def score(self, prediction: torch.Tensor) -> torch.Tensor:
        """The prediction as the metrics judge it (e.g. clipped to the valid range)."""
        return prediction

    @abstractmethod
    def target(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """What a batch ``(scenes, labels, ...)`` asks the network for."""

    @abstractmethod
    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def metrics(self) -> dict[str, Metric]:
        """Fresh torchmetrics metrics keyed by name (one set per stage)."""

    def training_metrics(self) -> dict[str, Metric]:
        """The metrics of the training epochs (the learning curves read the monitored one);
        all of ``metrics`` unless a task leaves out those too costly to compute every epoch."""
        return self.metrics()

    def combine(self, predictions: list[torch.Tensor]) -> torch.Tensor:
        """One prediction from several (test-time views, ensemble members): their mean."""
        return torch.stack(predictions).mean(dim=0)

    @staticmethod
    def mean_probabilities(logits: list[torch.Tensor]) -> torch.Tensor:
        """The mean of the class probabilities (softmax over dim 1), as logits (their log):
        metrics then see those probabilities and the loss their cross-entropy."""
        return torch.stack([p.softmax(dim=1) for p in logits]).mean(dim=0).log()

    def per_image(
        self, scored: torch.Tensor, target: torch.Tensor, network_input: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Each test image's results, ``(B,)`` tensors named as the metrics are (``acc`` is
        1 where the class is right, ``psnr`` in dB, ...), with the baseline's as
        ``<metric>_baseline``: saved per run (``per_image.npz``), so that runs tested on
        the same images can be compared image by image. ``scored``: what ``score`` made of
        the prediction. None by default."""
        return {}

    def chance(self) -> dict[str, float]:
        """Test metrics at the level of a guess (``{"acc": 0.1}`` for 10 classes), below
        which a run learned nothing; none by default (a baseline says it instead)."""
        return {}

    def baseline_metrics(self) -> dict[str, Metric]:
        """Metrics of the classical answer without a network (``baseline``); none by default."""
        return {}

    def baseline(self, network_input: torch.Tensor) -> torch.Tensor:
        """The classical answer, as the baseline metrics judge it: by default the network's
        input (the classical estimate of the scene) as the metrics see a prediction."""
        return self.score(network_input)

    def analysis(self) -> type:
        """The class that draws this task's per-run figures: a subclass of
        ``deepimg.analysis.run_analysis.RunAnalysis`` (by default that class itself, which
        draws the learning curves every run has)."""
        from deepimg.analysis.run_analysis import RunAnalysis

        return RunAnalysis


def objective_direction(task_target: str) -> str:
    """``maximize`` or ``minimize``: the direction of the objective of the task class that
    ``task_target`` names (a deepimg task), as Optuna's sweeper wants it. Only classes under
    ``deepimg.tasks`` are imported: the name may come from a config someone sent."""
    module_name, _, name = str(task_target).rpartition(".")
    if not module_name.startswith("deepimg.tasks"):
        raise ValueError(f"{task_target!r} is not a deepimg task")
    task = getattr(importlib.import_module(module_name), name, None)
    if not (inspect.isclass(task) and issubclass(task, Task)):
        raise ValueError(f"{task_target!r} is not a deepimg task")
    return "maximize" if task.directions[task.monitor_metric] == "max" else "minimize"
