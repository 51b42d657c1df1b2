"""The LightningModule: scene -> physical layer -> standardisation -> network -> task."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics import MaxMetric, MeanMetric, MetricCollection, MinMetric

from deepimg.models.layers import last_linear
from deepimg.models.standardize import Standardize
from deepimg.physics.base import PhysicalLayer
from deepimg.tasks.base import Task
from deepimg.training.gathered import GatheredUpdates
from deepimg.training.regularization import Regularization
from deepimg.training.tta import TTA, views

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]
STAGES = ("train", "val", "test")


class Diverged(RuntimeError):
    """The training loss stopped being a finite number: nothing after it would mean anything."""


class Inference(NamedTuple):
    prediction: torch.Tensor
    network_input: torch.Tensor
    measurement: torch.Tensor


class ImagingModule(pl.LightningModule):
    """A network trained through a differentiable model of the imaging system, for any task.

    ``scene -> physics -> measurement -> task.network_input -> standardise -> network ->
    task.prediction``; the task (``deepimg.tasks``) says what the target, loss and metrics
    are, and what the network reads (the measurement, or a classical estimate of the scene).

    The physical layer's learnable parameters (if any) are optimised jointly with the
    network, in their own parameter group: learning rate ``physics_lr`` (the optimizer's
    when None) and no weight decay, which would pull them towards zero rather than towards
    a better design. After every optimizer step the layer restores its physical
    constraints (``project``); before every batch it learns how far training has gone
    (``anneal``). ``regularization`` adds its weight penalty on the network to the loss.
    """

    def __init__(
        self,
        physics: PhysicalLayer,
        network: nn.Module,
        task: Task,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        regularization: Regularization | None = None,
        physics_lr: float | None = None,
        tta: TTA = "none",
        head_lr: float | None = None,
    ) -> None:
        super().__init__()
        self.physics = physics
        self.task = task
        self.standardize = Standardize(task.network_input_shape(physics)[0])
        self.network = network
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.regularization = regularization or Regularization()
        self.physics_lr, self.head_lr = physics_lr, head_lr
        self.transfer, self.frozen = None, 0  # what init_from loaded; parameters frozen
        self.anneal_window: tuple[int, int] | None = None  # steps; None: the whole run
        # Metrics and mean loss per stage, accumulated per batch and logged once per epoch:
        # Lightning's self.log costs milliseconds a call, too much to pay on every batch.
        for stage in STAGES:  # train_metrics, val_metrics, test_metrics; *_loss likewise
            metrics = task.training_metrics() if stage == "train" else task.metrics()
            setattr(self, f"{stage}_metrics", MetricCollection(metrics, prefix=f"{stage}/"))
            setattr(self, f"{stage}_loss", MeanMetric())
        self.gathered = {
            stage: GatheredUpdates(getattr(self, f"{stage}_metrics")) for stage in STAGES
        }
        self.gathered_loss = {  # (loss, batch size) pairs: a MeanMetric update costs 30 us
            stage: GatheredUpdates(getattr(self, f"{stage}_loss")) for stage in STAGES
        }
        baseline = task.baseline_metrics()
        self.baseline_metrics = (
            MetricCollection(baseline, prefix="test/", postfix="_baseline") if baseline else None
        )
        self.monitor_best = MaxMetric() if task.mode == "max" else MinMetric()
        # With test-time augmentation the test is scored twice: test/acc as always (so runs
        # compare), and test/acc_tta averaged over the views of each scene.
        self.tta, self.views = tta, views(tta)
        self.tta_metrics = (
            MetricCollection(task.metrics(), prefix="test/", postfix="_tta")
            if tta != "none"
            else None
        )

    def infer(self, scenes: torch.Tensor, depth: torch.Tensor | None = None) -> Inference:
        """The prediction for a batch of scenes, with the measurement and what the network
        read (the measurement, or the classical estimate of the scene made from it);
        ``depth``: where the scenes' pixels lie, for a task whose scenes have depth."""
        measurement = self.task.measure(self.physics, scenes, depth)
        network_input = self.task.network_input(self.physics, measurement)
        output = self.network(self.standardize(network_input))
        return Inference(self.task.prediction(output, network_input), network_input, measurement)

    def forward(self, scenes: torch.Tensor) -> torch.Tensor:
        """The task's prediction (class logits, a restored scene ...) for scenes (B, C, H, W)."""
        return self.infer(scenes).prediction

    def _step(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        scenes = batch[0]
        target = self.task.target(batch)
        prediction, network_input, _ = self.infer(scenes, self.task.scene_depth(batch))
        loss = self.task.loss(prediction, target)
        self.gathered[stage].update(self.task.score(prediction.detach()), target)
        if stage == "test" and self.baseline_metrics is not None:
            self.baseline_metrics.update(self.task.baseline(network_input.detach()), target)
        if stage == "test" and self.tta_metrics is not None:
            self.tta_metrics.update(self.task.score(self.augmented(scenes)), target)
        if stage == "test":
            self.record_per_image(scenes, prediction.detach(), target, network_input.detach())
        self.record_loss(stage, loss, len(scenes))
        return loss

    def record_per_image(
        self,
        scenes: torch.Tensor,
        prediction: torch.Tensor,
        target: torch.Tensor,
        network_input: torch.Tensor,
    ) -> None:
        """Keep each test image's results (the task's ``per_image``), and a fingerprint of the
        scene (the sum of its pixels), by which runs tested on the same images are paired."""
        scored = self.task.score(prediction)
        record = self.task.per_image(scored, target, network_input)
        record["fingerprint"] = scenes.double().flatten(1).sum(dim=1)
        self.per_image_parts.append({k: v.detach().cpu() for k, v in record.items()})
        if self.task.keeps_test_scores:
            self.test_scored.append((scored.detach().cpu(), target.detach().cpu()))

    def on_test_epoch_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None:  # a baseline fitted through this run's physics, if any
            self.task.calibrate(self, datamodule)
        self.per_image_parts = []
        self.test_scored: list[tuple[torch.Tensor, torch.Tensor]] = []

    def test_scores(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Every test image's score and target from the last test, in test order, where the
        task keeps them (``keeps_test_scores``): the figures read them instead of predicting
        the test split a second time. None before a test."""
        parts = getattr(self, "test_scored", [])
        if not parts:
            return None
        return torch.cat([s for s, _ in parts]), torch.cat([t for _, t in parts])

    def per_image(self) -> dict[str, np.ndarray]:
        """The test's per-image records, in test order (``index``), as arrays."""
        parts = getattr(self, "per_image_parts", [])
        if not parts:
            return {}
        records = {k: torch.cat([p[k] for p in parts]).numpy() for k in parts[0]}
        records["index"] = np.arange(len(records["fingerprint"]))
        return records

    def _mixed_step(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """A training step on mixed scenes (mixup, cutmix); the metrics count each mixed
        scene under its own label."""
        target = self.task.target(batch)
        scenes, partner, lam = self.regularization.mix(batch[0])
        prediction = self.infer(scenes).prediction
        loss = lam * self.task.loss(prediction, target) + (1 - lam) * self.task.loss(
            prediction, target[partner]
        )
        self.gathered["train"].update(self.task.score(prediction.detach()), target)
        self.record_loss("train", loss, len(scenes))
        return loss

    @torch.no_grad()
    def augmented(self, scenes: torch.Tensor) -> torch.Tensor:
        """The prediction combined over the test-time views of the scenes."""
        return self.task.combine([self.infer(view(scenes)).prediction for view in self.views])

    def record_loss(self, stage: str, loss: torch.Tensor, weight: int) -> None:
        """A batch's mean loss, weighted by its size, for the stage's epoch mean."""
        value = loss.detach().reshape(1)
        self.gathered_loss[stage].update(value, value.new_full((1,), float(weight)))

    def _log_epoch(self, stage: str, prog_bar: bool = False) -> dict[str, torch.Tensor]:
        self.gathered[stage].flush()
        self.gathered_loss[stage].flush()
        metrics, loss = getattr(self, f"{stage}_metrics"), getattr(self, f"{stage}_loss")
        values = {**metrics.compute(), f"{stage}/loss": loss.compute()}
        metrics.reset()
        loss.reset()
        for extra in (self.baseline_metrics, self.tta_metrics):
            if stage == "test" and extra is not None:
                values.update(extra.compute())
                extra.reset()
        self.log_dict(values, prog_bar=prog_bar)
        return values

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        if self.regularization.mixes() and self.task.mixes_labels:
            loss = self._mixed_step(batch)
        else:
            loss = self._step(batch, "train")
        if not torch.isfinite(loss):  # stop at once, rather than train on NaN for every epoch
            raise Diverged(
                f"the training loss became {float(loss)} at step {self.global_step} (epoch "
                f"{self.current_epoch}); lower the learning rate (optimizer.lr) and start again"
            )
        if batch_idx % self.trainer.log_every_n_steps == 0:  # a live loss for the progress bar
            self.log("train/loss_step", loss, prog_bar=True, on_step=True, on_epoch=False)
        return loss + self.regularization.penalty(self.network) + self.physics.penalty()

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        self.physics.anneal(self.anneal_progress(self.global_step))

    def anneal_progress(self, step: int) -> float:
        """How far the relaxations have hardened at ``step``, in [0, 1]: through
        ``anneal_window`` (the joint stage's steps, set by ``training.stages``; by default the
        whole run), 0 before it and 1 after it."""
        start, end = self.anneal_window or (0, int(self.trainer.estimated_stepping_batches))
        if end <= start:
            return 1.0 if step >= start else 0.0
        return min(1.0, max(0.0, (step - start) / (end - start)))

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        with torch.no_grad():  # the optimizer has stepped: put the physics back in bounds
            self.physics.project()

    def validation_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        values = self._log_epoch("val", prog_bar=True)
        if not self.trainer.sanity_checking:
            self.monitor_best.update(values[self.task.monitor])
            self.log(self.task.objective, self.monitor_best.compute())

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    # ---- resuming -------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """The best validation value so far (metric states are not in the state_dict), and
        the number of steps the learning-rate schedule was planned for."""
        if self.monitor_best.update_count:
            checkpoint["monitor_best"] = self.monitor_best.compute()
        checkpoint["schedule_steps"] = int(self.trainer.estimated_stepping_batches)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "monitor_best" in checkpoint:
            self.monitor_best.update(checkpoint["monitor_best"])
        self._planned_steps = checkpoint.get("schedule_steps")

    def on_train_start(self) -> None:
        """A run resumed with more epochs re-plans its schedule over the new length."""
        planned = getattr(self, "_planned_steps", None)
        total = int(self.trainer.estimated_stepping_batches)
        configs = self.trainer.lr_scheduler_configs
        if planned is None or planned == total or not configs or self.scheduler_factory is None:
            return
        optimizer = self.trainer.optimizers[0]
        scheduler = self.scheduler_factory(optimizer=optimizer, total_steps=total)
        scheduler.last_epoch = self.global_step - 1  # every schedule is a function of the step
        with warnings.catch_warnings():  # "step() before optimizer.step()": a fast-forward
            warnings.simplefilter("ignore", UserWarning)
            scheduler.step()
        configs[0].scheduler = scheduler

    def parameter_groups(self) -> list[dict]:
        """The network's parameters (its head in a group of its own when ``head_lr`` is
        set), then the physical layer's in a group of their own."""
        physics = [p for p in self.physics.parameters() if p.requires_grad]
        own = {id(p) for p in physics}
        head = [p for p in self.head_parameters() if p.requires_grad]
        own |= {id(p) for p in head}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in own]
        groups: list[dict] = [{"params": rest}] if rest else []
        if head:
            groups.append({"params": head, "lr": self.head_lr})
        if physics:
            group: dict = {"params": physics, "weight_decay": 0.0}
            if self.physics_lr is not None:
                group["lr"] = self.physics_lr
            groups.append(group)
        return groups

    def head_parameters(self) -> list[nn.Parameter]:
        """The last linear layer's parameters, when ``head_lr`` gives them their own rate."""
        head = last_linear(self.network) if self.head_lr is not None else None
        return list(head.parameters()) if head is not None else []

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameter_groups())
        if self.scheduler_factory is None:
            return optimizer
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = self.scheduler_factory(optimizer=optimizer, total_steps=total)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
