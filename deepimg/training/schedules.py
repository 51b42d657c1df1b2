"""Learning-rate schedules, stepped once per batch; each is built from (optimizer, total_steps).

Each is a closed-form function of the step number, so a run resumed with more epochs can
build its schedule again for the new length and start it at the step it reached.
"""

from __future__ import annotations

import math
from typing import Annotated

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

from deepimg.config.constraints import Range


def onecycle(
    optimizer: Optimizer,
    total_steps: int,
    pct_start: Annotated[float, Range(0, 1)] = 0.25,
) -> LRScheduler:
    """Warm up to the optimizer's lr, then anneal to ~0 (Smith 2018): fast, short training."""
    if total_steps < 4:  # too short to warm up and anneal: keep the lr constant
        return LambdaLR(optimizer, lambda _: 1.0)
    pct_start = max(pct_start, 1.5 / total_steps)  # at least one step of warm-up
    max_lr = [group["lr"] for group in optimizer.param_groups]
    return OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)


def cosine(optimizer: Optimizer, total_steps: int) -> LRScheduler:
    """Cosine decay from the optimizer's lr to 0 over the whole run."""
    return LambdaLR(
        optimizer, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, total_steps) / total_steps))
    )


def step(
    optimizer: Optimizer,
    total_steps: int,
    milestones: list[float] | None = None,
    gamma: Annotated[float, Range(0, 1)] = 0.1,
) -> LRScheduler:
    """Multiply the lr by ``gamma`` at each milestone, given as fractions of the run."""
    marks = [int(m * total_steps) for m in (milestones or [0.5, 0.75])]
    return LambdaLR(optimizer, lambda i: gamma ** sum(i >= m for m in marks))
