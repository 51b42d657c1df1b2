"""Regularisation beyond the network's own dropout: weight penalties, mixing of scenes
(mixup, cutmix) and early stopping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from torch import nn

from deepimg.config.constraints import Range


@dataclass
class Regularization:
    """Loss penalties on the network's weights, and when to stop training early.

    The penalty is ``l1 * sum|w| + l2 * sum(w^2) / 2`` over the network's weight matrices
    and kernels (not biases, not norm layers, not the physical layer, whose parameters
    carry their own physical constraints). With ``patience`` set, training stops once
    ``monitor`` has not improved for that many epochs: ``val/loss`` (falling, whatever the
    task), ``task`` (the task's own validation metric: ``val/acc`` for classification,
    ``val/psnr`` for restoration), or any validation metric the task logs (``val/dice``,
    ``val/error_px``), each in its own direction, which ``mode`` may state but not contradict.
    Which metrics a task logs is known once the task is: ``training.build`` checks it.
    """

    l1: Annotated[float, Range(0)] = 0.0
    l2: Annotated[float, Range(0)] = 0.0
    patience: Annotated[int, Range(1)] | None = None
    monitor: str = "val/loss"
    mode: Literal["min", "max"] | None = None
    mixup: Annotated[float, Range(0)] = 0.0
    cutmix: Annotated[float, Range(0)] = 0.0

    def mixes(self) -> bool:
        return bool(self.mixup or self.cutmix)

    def mix(self, scenes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Mixup (Zhang et al. 2018) or CutMix (Yun et al. 2019) of a batch of *scenes*,
        before the physics: each scene is blended with (mixup), or has a box pasted from
        (cutmix), another scene of the batch, with a share ``lam ~ Beta(alpha, alpha)`` of
        its own. Returns the mixed scenes, the partner of each, and ``lam``; the loss is
        ``lam * loss(own label) + (1 - lam) * loss(partner's label)``. With both set, each
        batch is one or the other at random."""
        use_cutmix = self.cutmix and (not self.mixup or bool(torch.rand(()) < 0.5))
        alpha = self.cutmix if use_cutmix else self.mixup
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        partner = torch.randperm(len(scenes), device=scenes.device)
        if not use_cutmix:
            return lam * scenes + (1 - lam) * scenes[partner], partner, lam
        h, w = scenes.shape[-2:]
        bh, bw = round(h * (1 - lam) ** 0.5), round(w * (1 - lam) ** 0.5)
        top, left = int(torch.randint(0, h - bh + 1, ())), int(torch.randint(0, w - bw + 1, ()))
        mixed = scenes.clone()
        mixed[..., top : top + bh, left : left + bw] = scenes[partner][
            ..., top : top + bh, left : left + bw
        ]
        return mixed, partner, 1 - bh * bw / (h * w)  # the share actually kept

    def penalty(self, network: nn.Module) -> torch.Tensor | float:
        if not (self.l1 or self.l2):
            return 0.0
        weights = [p for p in network.parameters() if p.ndim > 1]
        total = 0.0
        if self.l1:
            total = total + self.l1 * sum(w.abs().sum() for w in weights)
        if self.l2:
            total = total + self.l2 / 2 * sum(w.pow(2).sum() for w in weights)
        return total

    def callbacks(self, task_monitor: str, direction: Callable[[str], str | None]) -> list:
        """Early stopping, when ``patience`` is set: ``task_monitor`` is what ``monitor: task``
        means, and ``direction`` gives each metric's direction (the task's ``direction``)."""
        if self.patience is None:
            return []
        from pytorch_lightning.callbacks import EarlyStopping

        monitor = task_monitor if self.monitor == "task" else self.monitor
        mode = direction(monitor) or self.mode or "min"
        return [EarlyStopping(monitor=monitor, mode=mode, patience=self.patience)]
