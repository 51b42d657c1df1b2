"""The module's contract with the physical layer: its own optimizer group, constraints after
every step, annealing over training; and its training step on mixed scenes (mixup, cutmix)."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.physics.base import PhysicalLayer
from deepimg.training.build import build_datamodule, build_module


class Recorder(PhysicalLayer):
    """A gain layer that records what the module tells it."""

    def __init__(self, in_shape) -> None:
        super().__init__(in_shape)
        self.gain = torch.nn.Parameter(torch.ones(()))
        self.progress: list[float] = []
        self.projections = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain

    def project(self) -> None:
        self.projections += 1
        self.gain.clamp_(max=1.0)  # a constraint the optimizer step would break

    def anneal(self, progress: float) -> None:
        self.progress.append(progress)


class FakeData:
    in_shape, num_classes = (1, 8, 8), 3


def module_for(*overrides: str):
    cfg = config.compose(["scheduler=none", *overrides])
    module = build_module(cfg, FakeData())
    module.physics = Recorder((1, 8, 8))
    return module


def test_physics_parameters_get_their_own_lr_and_no_weight_decay() -> None:
    module = module_for("physics_lr=0.5")
    groups = module.configure_optimizers().param_groups
    physics = [g for g in groups if any(p is module.physics.gain for p in g["params"])]
    assert len(groups) == 2 and len(physics) == 1
    assert physics[0]["lr"] == 0.5 and physics[0]["weight_decay"] == 0
    assert groups[0]["lr"] == config.compose([]).optimizer.lr
    assert sum(len(g["params"]) for g in groups) == len(list(module.parameters()))


def test_constraints_hold_after_every_step_and_annealing_rises_to_one() -> None:
    module = module_for("physics_lr=1.0")
    data = TensorDataset(torch.rand(32, 1, 8, 8), torch.randint(0, 3, (32,)))
    trainer = pl.Trainer(
        max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_val_batches=0,
    )  # fmt: skip
    # A large negative gradient on the gain pushes it above 1 at every step.
    module.physics.gain.register_hook(lambda g: torch.full_like(g, -10.0))
    trainer.fit(module, DataLoader(data, batch_size=8))
    assert module.physics.projections == 8
    assert module.physics.gain.item() <= 1.0
    progress = module.physics.progress
    assert progress[0] == 0 and progress == sorted(progress) and 0.8 <= progress[-1] < 1


def test_a_mixed_training_step_scores_both_labels_and_other_tasks_refuse_it() -> None:
    cfg = config.compose(["dataset=digits", "regularization=mixup"])
    data = build_datamodule(cfg)
    module = build_module(cfg, data)
    loss = module._mixed_step(next(iter(data.train_dataloader())))
    loss.backward()
    assert loss.ndim == 0 and module.network.head[-1].weight.grad.abs().sum() > 0
    cfg = config.compose(["dataset=digits", "task=restore", "regularization=cutmix"])
    with pytest.raises(
        UserError, match="mixup and cutmix mix two scenes' targets, which task=restore cannot"
    ):
        build_module(cfg, build_datamodule(cfg))


def test_the_per_image_records_average_to_the_test_metrics(digits_module) -> None:
    """Each test image's result is kept (for comparisons paired image by image), in test
    order, with a fingerprint of its scene; their mean is the logged metric."""
    import numpy as np
    import pytorch_lightning as pl

    module, data = digits_module
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    metrics = trainer.test(module, datamodule=data, verbose=False)[0]
    records = module.per_image()
    assert records["acc"].mean() == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert np.array_equal(records["index"], np.arange(len(data.test)))
    assert np.array_equal(records["target"], data.test.labels.numpy())
    assert np.array_equal(
        records["acc"], (records["predicted"] == records["target"]).astype(np.float32)
    )
    again = module.per_image()
    assert np.array_equal(again["fingerprint"], records["fingerprint"])


def test_a_non_finite_loss_stops_training_at_once(digits_module) -> None:
    from deepimg.training.module import Diverged

    module, data = digits_module
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, max_epochs=1, limit_train_batches=3,
    )  # fmt: skip
    trainer.fit_loop  # noqa: B018 - the module needs a trainer to log with
    module.trainer = trainer
    scenes, labels = next(iter(data.train_dataloader()))
    weight = module.network.head[-1].weight
    kept = weight.detach().clone()  # the module is shared: put its weights back afterwards
    try:
        with torch.no_grad():
            weight.fill_(float("nan"))
        with pytest.raises(
            Diverged, match="the training loss became nan at step 0 .*lower the learning rate"
        ):
            module.training_step((scenes, labels), 0)
    finally:
        with torch.no_grad():
            weight.copy_(kept)
        module.gathered["train"].flush()
        module.gathered_loss["train"].flush()
        module.train_metrics.reset()
        module.train_loss.reset()
