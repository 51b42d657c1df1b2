"""The LightningModule: scene -> physical layer -> standardisation -> network -> loss."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MaxMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from deepimg.models.standardize import Standardize
from deepimg.physics.base import PhysicalLayer
from deepimg.regularization import Regularization

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
    network; ``regularization`` adds its weight penalty on the network to the loss.
    """

    def __init__(
        self,
        physics: PhysicalLayer,
        network: nn.Module,
        num_classes: int,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        regularization: Regularization | None = None,
    ) -> None:
        super().__init__()
        self.physics = physics
        self.standardize = Standardize(physics.out_shape[0])
        self.network = network
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.regularization = regularization or Regularization()
        self.train_metrics = classification_metrics(num_classes, "train/")
        self.val_metrics = classification_metrics(num_classes, "val/")
        self.test_metrics = classification_metrics(num_classes, "test/")
        self.val_acc_best = MaxMetric()

    def forward(self, scenes: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of scenes (B, C, H, W) in [0, 1]."""
        return self.network(self.standardize(self.physics(scenes)))

    def _step(
        self, batch: tuple[torch.Tensor, torch.Tensor], metrics: MetricCollection
    ) -> torch.Tensor:
        scenes, labels = batch
        logits = self(scenes)
        loss = F.cross_entropy(logits, labels)
        metrics.update(logits.detach(), labels)
        return loss

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = self._step(batch, self.train_metrics)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        return loss + self.regularization.penalty(self.network)

    def validation_step(self, batch, batch_idx: int) -> None:
        self.log("val/loss", self._step(batch, self.val_metrics), on_epoch=True, prog_bar=True)

    def test_step(self, batch, batch_idx: int) -> None:
        self.log("test/loss", self._step(batch, self.test_metrics), on_epoch=True)

    def on_train_epoch_end(self) -> None:
        self.log_dict(self.train_metrics.compute())
        self.train_metrics.reset()

    def on_validation_epoch_end(self) -> None:
        values = self.val_metrics.compute()
        self.val_metrics.reset()
        self.log_dict(values, prog_bar=True)
        if not self.trainer.sanity_checking:
            self.val_acc_best.update(values["val/acc"])
            self.log("val/acc_best", self.val_acc_best.compute())

    def on_test_epoch_end(self) -> None:
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=[p for p in self.parameters() if p.requires_grad])
        if self.scheduler_factory is None:
            return optimizer
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = self.scheduler_factory(optimizer=optimizer, total_steps=total)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
