"""The stages of a learned design: what learns and what training sees in each, the best
checkpoint from the last one, and runs that go through them (digits, a few epochs)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from deepimg.physics.constraints import OneHot
from deepimg.physics.parameter import PhysicalParameter
from deepimg.physics.quantize import Quantize
from deepimg.training.stages import Stage, Stages
from tests.conftest import run_cli

RUN = ["dataset=digits", "analysis=none", "trainer.enable_progress_bar=false",
       "trainer.accelerator=cpu", "physical_layer=quantize", "bits=2"]  # fmt: skip


def test_the_plan_splits_the_run_and_a_fixed_design_only_decodes() -> None:
    stages = Stages(warmup=1, hardened=1, decode=2)
    assert stages.plan(6, learnable=True) == [
        Stage("warmup", 0, 1), Stage("joint", 1, 3), Stage("hardened", 3, 4), Stage("decode", 4, 6)
    ]  # fmt: skip
    assert stages.plan(6, learnable=False) == [Stage("decode", 0, 6)]
    assert Stages().plan(3, learnable=True) == [Stage("joint", 0, 3)]  # as before stages
    with pytest.raises(ValueError, match="the stages take 7 epochs .* trainer.max_epochs=5"):
        Stages(warmup=1, joint=3, hardened=1, decode=2).plan(5, learnable=True)
    with pytest.raises(ValueError, match="trainer.max_epochs=3"):
        stages.plan(3, learnable=True)  # warm-up, hardened and decode leave joint -1
    warmed = Stages(warmup=1, joint=0, hardened=None, decode=1)  # stages=warmed
    assert warmed.plan(5, learnable=True) == [
        Stage("warmup", 0, 1), Stage("hardened", 1, 4), Stage("decode", 4, 5)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="leave one stage .* null"):
        Stages(joint=None, hardened=None).plan(3, learnable=True)
    ideal = Stages(warmup=None, joint=0, hardened=0, decode=4)  # stages=ideal, decode 4
    assert ideal.plan(6, learnable=True) == [Stage("warmup", 0, 2), Stage("decode", 2, 6)]


def test_hardened_training_sees_the_hard_design_with_the_relaxations_gradient() -> None:
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 1.5]])
    parameter = PhysicalParameter(None, OneHot(dim=1), learnable=True, latent=logits)
    parameter.train()
    relaxed = parameter()
    assert not torch.equal(relaxed, parameter.design())
    parameter.hardened = True
    hard = parameter()
    assert torch.equal(hard, parameter.design())  # forward: exactly the hardware
    (hard * torch.tensor([[1.0, -1.0]])).sum().backward()
    assert parameter.latent.grad.abs().sum() > 0  # backward: the relaxation's gradient
    parameter.latent.requires_grad_(False)  # frozen (decode): the design, no graph
    assert torch.equal(parameter(), parameter.design()) and not parameter().requires_grad


def test_the_hardened_gradient_survives_annealing() -> None:
    """Annealed to its final temperature (after the joint stage), a softmax's gradient
    underflows to zero; the hardened stage's straight-through gradient is the relaxation's
    at temperature 1, so the design can still move."""
    parameter = PhysicalParameter(
        None, OneHot(dim=0, final_temperature=100.0), learnable=True,
        latent=torch.tensor([[2.0], [0.0], [0.0], [0.0]]),
    )  # fmt: skip
    parameter.train()
    parameter.anneal(1.0)
    (parameter() * torch.tensor([[1.0], [-1.0], [0.0], [0.0]])).sum().backward()
    assert parameter.latent.grad.abs().sum() == 0  # the annealed relaxation: no gradient
    parameter.latent.grad = None
    parameter.hardened = True
    (parameter() * torch.tensor([[1.0], [-1.0], [0.0], [0.0]])).sum().backward()
    assert parameter.latent.grad[0, 0] > 0 > parameter.latent.grad[1, 0]  # towards filter 1


def test_warmup_and_decode_hold_the_design_joint_and_hardened_move_it() -> None:
    layer = Quantize((1, 4, 4), bits=2, learnable=True)
    for learning in (False, True):
        layer.learn_design(learning)
        assert all(p.requires_grad == learning for p in layer.parameters())


def stage_of_each_epoch(run: Path) -> list[int]:
    rows = pd.read_csv(run / "metrics.csv")
    return rows.dropna(subset=["stage"]).groupby("epoch")["stage"].last().astype(int).tolist()


@pytest.mark.slow
def test_a_staged_run_goes_through_its_stages_and_decode_moves_no_design(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = run_cli(
        "train", *RUN, "learnable=true", "stages.warmup=1", "stages.hardened=1",
        "stages.decode=1", "trainer.max_epochs=4", f"hydra.run.dir={run}", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert stage_of_each_epoch(run) == [0, 1, 2, 3]  # warmup, joint, hardened, decode
    designs = {
        stage: np.load(run / "physics" / "stages" / f"{k}_{stage}" / "gain.npy")
        for k, stage in enumerate(["warmup", "joint", "hardened", "decode"])
    }
    assert np.array_equal(designs["warmup"], np.ones_like(designs["warmup"]))  # held at its start
    assert not np.array_equal(designs["joint"], designs["warmup"])  # joint learns it
    assert np.array_equal(designs["decode"], designs["hardened"])  # decode moves nothing
    metrics = json.loads((run / "metrics.json").read_text())
    best = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True, map_location="cpu")
    assert best["epoch"] == 3  # chosen within the last stage, the only one tested
    assert metrics["status"] == "completed"


@pytest.mark.slow
def test_with_no_joint_epochs_a_learned_run_is_the_fixed_run(tmp_path: Path) -> None:
    """A learnable design that starts at the fixed one and never learns (only decode) trains
    the network exactly as the fixed design does: the same seed gives the same numbers."""
    runs = {}
    for learnable in ("true", "false"):
        run = tmp_path / learnable
        result = run_cli(
            "train", *RUN, f"learnable={learnable}", "stages.joint=0", "stages.decode=2",
            "trainer.max_epochs=2", f"hydra.run.dir={run}", cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        runs[learnable] = json.loads((run / "metrics.json").read_text())
    for key in ("test/acc", "test/loss", "val/acc_best"):
        assert runs["true"][key] == runs["false"][key]


@pytest.mark.slow
def test_a_run_resumed_in_the_middle_of_a_stage_ends_as_the_uninterrupted_one(
    tmp_path: Path,
) -> None:
    from tests.test_signals_resume import signal_when, start

    staged = [*RUN, "learnable=true", "stages.warmup=6", "stages.decode=1", "trainer.max_epochs=8"]
    whole = run_cli("train", *staged, f"hydra.run.dir={tmp_path / 'whole'}", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    stopped = tmp_path / "stopped"
    process = start("train", *staged, f"hydra.run.dir={stopped}", cwd=tmp_path)
    code, _ = signal_when(process, stopped / "checkpoints" / "last.ckpt", signal.SIGTERM)
    assert code == 143
    stopped_after = json.loads((stopped / "metrics.json").read_text())["epochs"]
    assert 1 <= stopped_after < 6  # in the warm-up, its first epoch done
    resumed = run_cli("train", f"resume={stopped}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    first = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    second = json.loads((stopped / "metrics.json").read_text())
    for key in ("test/acc", "test/loss", "val/acc_best"):
        assert second[key] == first[key]
    assert stage_of_each_epoch(stopped) == stage_of_each_epoch(tmp_path / "whole")
