"""The stages of a run whose hardware is learned, as the published designs train it.

A learned design (``learnable=true``) wins where the schedule fits the budget: the design is
hard well before the end, and the network has time to learn the hard design (Chakrabarti
2016 retrains the decoder on the frozen pattern; L-SVPE and Sitzmann 2018 start from the
classical design). One run goes through up to four stages, each a number of epochs:

* **warmup**: the network trains while the design stays at its start;
* **joint**: both learn; relaxed designs (a soft colour filter, a sigmoid mask) anneal on a
  schedule counted in steps, so they are hard by the end of this stage;
* **hardened**: both learn, but the forward pass uses the hard design (straight-through: the
  gradient is the relaxation's), so training sees what the test sees;
* **decode**: the design is frozen and hard, and the network alone trains on it,
  continuing from its weights or from scratch (``decode_from``).

Before them, ``info`` passes over the training scenes may design the hardware for
information alone: only the design learns, with no network in the loop, to maximise the bits
per pixel of its measurements (``deepimg/training/information.py``; the information-optimal
design, "IDEAL", of Pinkard et al. 2024). A pass costs a fraction of an epoch, and a discrete
design needs hundreds of steps to move, so they are counted apart from the epochs
(``stages=ideal``: then the network alone learns on the frozen design).

``joint: null`` takes whatever ``trainer.max_epochs`` leaves; by default (``stages=joint``)
that is the whole run, as before stages existed. A fixed design has only the decode stage: a
comparison of a fixed and a learned design at the same ``trainer.max_epochs`` is fair.

The best checkpoint (the one tested) and the objective a sweeper receives are taken from the
last stage only; ``metrics.csv`` records each epoch's stage (0 warmup ... 3 decode), and the
design at each stage's end is saved in ``physics/stages/`` (after the info passes, in
``physics/stages/info/``, with the bits of each pass in ``bits_per_pass.csv``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

import torch
from pytorch_lightning import Callback
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import nn

from deepimg.analysis.physics_figures import save_maps
from deepimg.config.constraints import Range
from deepimg.training.information import design_for_information

log = logging.getLogger(__name__)

STAGES = ("warmup", "joint", "hardened", "decode")
LEARNING = {"joint", "hardened"}  # stages in which the design moves
HARD = {"hardened", "decode"}  # stages in which training sees the hard design


class Stage(NamedTuple):
    """One stage: its name and its epochs, ``start`` included, ``end`` excluded."""

    name: str
    start: int
    end: int


@dataclass
class Stages:
    """The ``stages`` config group: each stage's epochs (see the module)."""

    warmup: Annotated[int, Range(0)] | None = 0
    joint: Annotated[int, Range(0)] | None = None
    hardened: Annotated[int, Range(0)] | None = 0
    decode: Annotated[int, Range(0)] | None = 0
    decode_from: Literal["continue", "scratch"] = "continue"
    info: Annotated[int, Range(0)] = 0  # passes designing for information, before the epochs
    info_lr: Annotated[float, Range(1e-6, 100)] = 1.0  # their Adam's learning rate

    def plan(self, max_epochs: int, learnable: bool) -> list[Stage]:
        """The stages of a run of ``max_epochs`` epochs, in order; only decode for a fixed
        design. One stage may be null: it takes the epochs the others leave. A ``ValueError``
        where the stages do not add up to the run."""
        if not learnable:
            return [Stage("decode", 0, max_epochs)]
        lengths = {"warmup": self.warmup, "joint": self.joint, "hardened": self.hardened}
        lengths["decode"] = self.decode
        rest = [name for name, n in lengths.items() if n is None]
        given = sum(n for n in lengths.values() if n is not None)
        if len(rest) > 1 or (rest and given > max_epochs) or (not rest and given != max_epochs):
            shown = ", ".join(f"{k}={'null' if n is None else n}" for k, n in lengths.items())
            raise ValueError(
                f"the stages take {given} epochs ({shown}) but trainer.max_epochs="
                f"{max_epochs}; make them add up, or leave one stage (stages.joint, for "
                "one) null to give it the epochs left"
            )
        if rest:
            lengths[rest[0]] = max_epochs - given
        stages, start = [], 0
        for name in STAGES:
            if lengths[name]:
                stages.append(Stage(name, start, start + lengths[name]))
                start += lengths[name]
        return stages


def stage_at(plan: list[Stage], epoch: int) -> Stage:
    """The stage that ``epoch`` belongs to (the last one for epochs beyond the plan)."""
    return next((s for s in plan if s.start <= epoch < s.end), plan[-1])


def reinitialise(network: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
    """The network's weights drawn anew, and the optimizer's memory of them forgotten."""
    for module in network.modules():
        if module is not network and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    if hasattr(network, "initialize"):
        network.initialize()
    if optimizer is not None:
        for parameter in network.parameters():
            optimizer.state.pop(parameter, None)


class StageSchedule(Callback):
    """Runs the plan: before each epoch it sets what learns and what training sees, and the
    window in which the relaxations anneal; after each, it logs the stage and, at a stage's
    end, saves the design (``physics/stages/<k>_<stage>/``)."""

    def __init__(self, stages: Stages, run_dir: Path) -> None:
        self.stages, self.run_dir = stages, run_dir
        self.plan: list[Stage] = []
        self.learnable = False  # the design's, set with the plan

    def setup_plan(self, max_epochs: int, learnable: bool) -> list[Stage]:
        self.plan = self.stages.plan(max_epochs, learnable)
        self.learnable = learnable
        return self.plan

    def holds_a_learned_design(self) -> bool:
        """Whether a stage leaves a learnable design out of the loss (warm-up, decode): DDP
        must then expect parameters without gradients."""
        held = any(stage.name not in LEARNING for stage in self.plan)
        return self.learnable and (held or bool(self.stages.info))

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.setup_plan(int(trainer.max_epochs), pl_module.physics.learnable)

    def on_train_start(self, trainer, pl_module) -> None:
        """The info passes, once, before the first epoch (not again on resuming: the
        checkpoint holds the design they made)."""
        fresh = trainer.current_epoch == 0 and trainer.global_step == 0
        if not (self.stages.info and pl_module.physics.learnable and fresh):
            return
        physics = pl_module.physics
        curve = design_for_information(
            physics, trainer.train_dataloader, self.stages.info, self.stages.info_lr,
            pl_module.device,
        )  # fmt: skip
        physics.anneal(0.0)  # the epochs anneal on their own window
        log.info("designed for information: %.3f -> %.3f bits per pixel over %d passes",
                 curve[0], curve[-1], len(curve))  # fmt: skip
        if trainer.is_global_zero:
            folder = self.run_dir / "physics" / "stages" / "info"
            save_maps(physics, folder)
            rows = "".join(f"{k},{bits:.6f}\n" for k, bits in enumerate(curve, 1))
            (folder / "bits_per_pass.csv").write_text("pass,bits_per_pixel\n" + rows)

    def in_last_stage(self, epoch: int) -> bool:
        return stage_at(self.plan, epoch) == self.plan[-1]

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        epoch = trainer.current_epoch
        current = stage_at(self.plan, epoch)
        pl_module.physics.learn_design(current.name in LEARNING)
        pl_module.physics.harden(current.name in HARD)
        per_epoch = max(1, int(trainer.estimated_stepping_batches) // int(trainer.max_epochs))
        joint = next((s for s in self.plan if s.name == "joint"), None)
        window = (joint.start, joint.end) if joint else (current.start, current.start)
        pl_module.anneal_window = (window[0] * per_epoch, window[1] * per_epoch)
        if epoch == current.start and current == self.plan[-1]:
            pl_module.monitor_best.reset()  # the objective is the best of the last stage
        scratch = self.stages.decode_from == "scratch" and len(self.plan) > 1
        if current.name == "decode" and epoch == current.start and scratch:
            optimizer = trainer.optimizers[0] if trainer.optimizers else None
            reinitialise(pl_module.network, optimizer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        current = stage_at(self.plan, trainer.current_epoch)
        pl_module.log("stage", float(STAGES.index(current.name)), on_epoch=True)
        last_epoch = trainer.current_epoch == current.end - 1
        if last_epoch and trainer.is_global_zero and pl_module.physics.learnable:
            folder = (
                self.run_dir / "physics" / "stages" / f"{self.plan.index(current)}_{current.name}"
            )
            save_maps(pl_module.physics, folder)


class BestInLastStage(ModelCheckpoint):
    """``best.ckpt``, chosen on validation among the epochs of the last stage only: an epoch
    of a relaxed design may validate well and still not be the hardware that is tested."""

    def __init__(self, schedule: StageSchedule, **kwargs) -> None:
        super().__init__(**kwargs)
        self.schedule = schedule

    def _save_topk_checkpoint(self, trainer, monitor_candidates) -> None:
        if not self.schedule.plan or self.schedule.in_last_stage(trainer.current_epoch):
            super()._save_topk_checkpoint(trainer, monitor_candidates)
        else:  # no best from this stage; last.ckpt is still written (Lightning writes it
            self._last_global_step_saved = trainer.global_step  # only after a saving step)
