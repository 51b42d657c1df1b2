"""Every figure of one run, made after testing, and the run's ``index.html`` that shows them.

``deepimg train`` calls :func:`analyse_run` after the test of the best checkpoint,
``deepimg eval`` after its re-test. The config group ``analysis`` chooses how much
(``none``, ``basic``: seconds, ``full``: more, such as saliency maps or t-SNE); each task
says what that means for it. The figures themselves are the task's: its ``analysis()``
names a subclass of :class:`RunAnalysis` (``deepimg/tasks/<task>/figures.py``) whose steps
draw them and whose ``figures`` give each its section and caption on the page. This
module is task-blind: the learning curves, which every run has, and the frame around the
steps.

Figures go into ``<run>/analysis/``, with ``analysis.json`` (what the steps found, and the
figures with their captions, which the run's page reads); the physical layer's own
pictures are in ``<run>/physics/``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from deepimg.analysis.learning_curves import diagnose, learning_curves_figure, learning_history
from deepimg.analysis.progress import run_steps
from deepimg.analysis.run_page import write_run_page
from deepimg.config.constraints import Range

Step = tuple[str, Callable[[], None]]


@dataclass
class AnalysisSettings:
    """The ``analysis`` config group: which figures a run gets, and how many examples they use."""

    figures: Literal["none", "basic", "full"] = "basic"
    examples_per_class: Annotated[int, Range(1, 10)] = 2
    embedding_samples: Annotated[int, Range(20, 100_000)] = 2000
    mosaic_side: Annotated[int, Range(2, 10)] = 4


def settings_from_config(cfg: DictConfig) -> AnalysisSettings:
    """The run's ``analysis`` settings; runs made before the group existed get ``basic``."""
    node = cfg.get("analysis")
    if node is None:
        return AnalysisSettings()
    values = OmegaConf.to_container(node, resolve=True)
    return AnalysisSettings(**{k: v for k, v in values.items() if not k.startswith("_")})


@dataclass(frozen=True)
class Figure:
    """One figure of a run's page: its file in ``analysis/``, the section that holds it,
    its caption, and optionally a CSV table in ``analysis/`` shown below the section."""

    file: str
    section: str
    caption: str
    table: str | None = None


LEARNING_CURVES = Figure(
    "learning_curves.png",
    "Learning curves",
    "Train and validation loss and the task's metric per epoch; the title is the diagnosis, "
    "the dotted line marks the lowest validation loss.",
)


def device_of(module: nn.Module, default: torch.device | None = None) -> torch.device:
    """Where the module's parameters and buffers live; ``default`` (the CPU) if it has none."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    return first.device if first is not None else default or torch.device("cpu")


class RunAnalysis:
    """The figures of one trained model on its test split, each drawn by one step.

    A task's subclass adds its own steps (``task_steps``) and their ``figures``; ``metric``
    (a metric the task logs, such as ``acc``), ``metric_label`` and ``loss_label`` say what
    the learning curves show. ``model`` maps scenes to predictions and has ``.physics``,
    ``.network`` and ``.task``; ``data`` is the run's data module.
    """

    metric: ClassVar[str] = "loss"
    metric_label: ClassVar[str] = "loss"
    loss_label: str = "loss"  # a step may name it once it knows (restoration's loss choice)
    figures: ClassVar[list[Figure]] = []  # the task's own, in the order the page shows them

    def __init__(
        self,
        model: nn.Module,
        data: Any,
        folder: Path,
        settings: AnalysisSettings,
        history: Path | None,
    ) -> None:
        self.model, self.data, self.folder, self.settings = model, data, folder, settings
        self.physics: nn.Module = model.physics
        self.network: nn.Module = model.network
        self.history = history
        self.device = device_of(model)
        self.summary: dict[str, object] = {"figures": settings.figures}

    def task_steps(self) -> list[Step]:
        """The task's own steps, for ``self.settings.figures`` (basic or full)."""
        return []

    def steps(self) -> list[Step]:
        return [*self.task_steps(), ("learning curves", self.learning_curves)]

    def run(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.model.eval()
        run_steps("figures", self.steps())
        shown = [LEARNING_CURVES, *self.figures]
        self.summary["page"] = [asdict(f) for f in shown if (self.folder / f.file).is_file()]
        (self.folder / "analysis.json").write_text(json.dumps(self.summary, indent=2) + "\n")

    def learning_curves(self) -> None:
        if self.history is None or not self.history.is_file():
            return
        history = learning_history(self.history, self.metric)
        if history.empty:
            return
        diagnosis = diagnose(history, self.metric)
        learning_curves_figure(
            history,
            diagnosis,
            self.folder / LEARNING_CURVES.file,
            self.metric,
            self.metric_label,
            self.loss_label,
        )
        self.summary["diagnosis"] = diagnosis


def analyse_run(
    model: nn.Module,
    data: Any,
    run_dir: Path,
    settings: AnalysisSettings,
    history: Path | None = None,
    device: torch.device | None = None,
) -> Path | None:
    """Draw the figures ``settings`` asks for into ``run_dir/analysis`` and write
    ``run_dir/index.html``; returns the page, or None for ``figures: none``.

    ``model.task.analysis()`` names the class that draws the figures; ``history`` is the CSV
    logger's ``metrics.csv`` with the per-epoch losses, when there is one. ``device`` is
    where to compute (the trainer's: Lightning hands the model back on the CPU after
    testing); the model returns to its own device and mode afterwards.
    """
    if settings.figures == "none":
        return None
    was_training, home = model.training, device_of(model)
    try:
        model.to(device or home)
        analysis = model.task.analysis()
        analysis(model, data, run_dir / "analysis", settings, history).run()
    finally:
        model.to(home).train(was_training)
    return write_run_page(run_dir)
