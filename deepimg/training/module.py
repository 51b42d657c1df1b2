"""The LightningModule: scene -> physical layer -> standardisation -> network -> loss."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MaxMetric, MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from deepimg.models.standardize import Standardize
from deepimg.physics.base import PhysicalLayer
from deepimg.training.regularization import Regularization

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]


def classification_metrics(num_classes: int, prefix: str) -> MetricCollection:
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
            "auroc": MulticlassAUROC(num_classes, average="macro"),
        },
        prefix=prefix,
    )


class ImagingModule(pl.LightningModule):
    """A network trained through a differentiable model of the imaging system.

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
        num_classes: int,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        regularization: Regularization | None = None,
        physics_lr: float | None = None,
    ) -> None:
        super().__init__()
        self.physics = physics
        self.standardize = Standardize(physics.out_shape[0])
        self.network = network
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.regularization = regularization or Regularization()
        self.physics_lr = physics_lr
        # Metrics and mean loss per stage, accumulated per batch and logged once per epoch:
        # Lightning's self.log costs milliseconds a call, too much to pay on every batch.
        self.train_metrics = classification_metrics(num_classes, "train/")
        self.val_metrics = classification_metrics(num_classes, "val/")
        self.test_metrics = classification_metrics(num_classes, "test/")
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.val_acc_best = MaxMetric()

    def forward(self, scenes: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of scenes (B, C, H, W) in [0, 1]."""
        return self.network(self.standardize(self.physics(scenes)))

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        scenes, labels = batch
        logits = self(scenes)
        loss = F.cross_entropy(logits, labels)
        getattr(self, f"{stage}_metrics").update(logits.detach(), labels)
        getattr(self, f"{stage}_loss").update(loss.detach(), weight=len(labels))
        return loss

    def _log_epoch(self, stage: str, prog_bar: bool = False) -> dict[str, torch.Tensor]:
        metrics, loss = getattr(self, f"{stage}_metrics"), getattr(self, f"{stage}_loss")
        values = {**metrics.compute(), f"{stage}/loss": loss.compute()}
        metrics.reset()
        loss.reset()
        self.log_dict(values, prog_bar=prog_bar)
        return values

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = self._step(batch, "train")
        if batch_idx % self.trainer.log_every_n_steps == 0:  # a live loss for the progress bar
            self.log("train/loss_step", loss, prog_bar=True, on_step=True, on_epoch=False)
        return loss + self.regularization.penalty(self.network)

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        total = max(1, int(self.trainer.estimated_stepping_batches))
        self.physics.anneal(min(1.0, self.global_step / total))

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
            self.val_acc_best.update(values["val/acc"])
            self.log("val/acc_best", self.val_acc_best.compute())

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def parameter_groups(self) -> list[dict]:
        """The network's parameters, then the physical layer's in a group of their own."""
        physics = [p for p in self.physics.parameters() if p.requires_grad]
        own = {id(p) for p in physics}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in own]
        groups: list[dict] = [{"params": rest}]
        if physics:
            group: dict = {"params": physics, "weight_decay": 0.0}
            if self.physics_lr is not None:
                group["lr"] = self.physics_lr
            groups.append(group)
        return groups

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
