"""Learning-rate schedules: closed-form functions of the step, stepped once per batch."""

from __future__ import annotations

import math

import pytest
import torch

from deepimg.training.schedules import cosine, onecycle, step


def lrs(make, total: int, steps: int | None = None, lr: float = 0.4, **kwargs) -> list[float]:
    """The lr at steps 0 .. ``steps`` (default: ``total``) of a schedule of ``total`` steps."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make(optimizer, total, **kwargs)
    seen = []
    for _ in range((total if steps is None else steps) + 1):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return seen


def test_cosine_falls_from_the_lr_to_zero_and_stays_there() -> None:
    seen = lrs(cosine, 10, steps=14)
    assert seen[0] == pytest.approx(0.4)
    assert seen[5] == pytest.approx(0.2)
    assert seen[2] == pytest.approx(0.2 * (1 + math.cos(math.pi * 0.2)))
    assert seen[10:] == pytest.approx([0.0] * 5, abs=1e-12)
    assert seen[:11] == sorted(seen[:11], reverse=True)


def test_step_multiplies_by_gamma_at_each_milestone() -> None:
    seen = lrs(step, 20, milestones=[0.25, 0.5], gamma=0.5)
    assert seen[:5] == pytest.approx([0.4] * 5)
    assert seen[5:10] == pytest.approx([0.2] * 5)
    assert seen[10:] == pytest.approx([0.1] * 11)
    default = lrs(step, 8)  # milestones at half and three quarters, gamma 0.1
    assert default == pytest.approx([0.4] * 4 + [0.04] * 2 + [0.004] * 3)


def test_onecycle_warms_up_to_the_lr_then_anneals_towards_zero() -> None:
    seen = lrs(onecycle, 20, steps=19, pct_start=0.25)
    peak = seen.index(max(seen))
    assert max(seen) == pytest.approx(0.4) and peak == 4  # a quarter of the 20 steps
    assert seen[0] < 0.4 / 10 and seen[: peak + 1] == sorted(seen[: peak + 1])
    assert seen[peak:] == sorted(seen[peak:], reverse=True) and seen[-1] < 1e-4


def test_onecycle_warms_up_for_at_least_one_step_and_a_short_run_keeps_the_lr() -> None:
    seen = lrs(onecycle, 10, steps=9, pct_start=0.0)
    assert seen[0] < 0.4 / 10 and seen.index(max(seen)) == 1 and seen[1] > 0.95 * 0.4
    assert lrs(onecycle, 3) == pytest.approx([0.4] * 4)  # too short to warm up and anneal


def test_a_schedule_rebuilt_for_a_longer_run_is_a_function_of_the_step() -> None:
    """What resuming with more epochs relies on: the same step gives the same lr."""
    assert lrs(cosine, 10, steps=3) == lrs(cosine, 10, steps=3)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.4)
    scheduler = cosine(optimizer, 20)
    assert scheduler.lr_lambdas[0](10) == pytest.approx(0.5)
    assert scheduler.lr_lambdas[0](25) == pytest.approx(0.0, abs=1e-12)
