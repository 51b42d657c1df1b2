"""The callbacks of every run: the config and the random generators in every checkpoint, and
the physical layer's maps for the trackers each epoch."""

from __future__ import annotations

import io
import random
from types import SimpleNamespace

import numpy as np
import torch
from omegaconf import OmegaConf

from deepimg import __version__
from deepimg.training import callbacks
from deepimg.training.callbacks import (
    PhysicsMaps,
    RandomState,
    SaveRunConfig,
    random_state,
    set_random_state,
)


def draws() -> tuple:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def test_restoring_the_generators_repeats_every_draw_of_torch_numpy_and_python() -> None:
    state = random_state()
    first = draws()
    assert draws() != first  # the generators moved on
    set_random_state(state)
    assert draws() == first


def test_the_state_survives_a_checkpoint_read_with_weights_only() -> None:
    np.random.randn()  # a cached Gaussian is part of numpy's state
    buffer = io.BytesIO()
    torch.save({"random_state": random_state()}, buffer)
    first = draws()
    buffer.seek(0)
    set_random_state(torch.load(buffer, weights_only=True)["random_state"])
    assert draws() == first


def test_the_random_state_callback_saves_with_a_checkpoint_and_restores_on_resume() -> None:
    checkpoint: dict = {}
    RandomState().on_save_checkpoint(None, None, checkpoint)
    first = draws()
    RandomState().on_load_checkpoint(None, None, checkpoint)
    assert draws() == first
    state = random_state()
    expected = draws()
    set_random_state(state)
    RandomState().on_load_checkpoint(None, None, {})  # an older checkpoint without it: no change
    assert draws() == expected


def test_checkpoints_carry_the_version_and_the_unresolved_config() -> None:
    cfg = OmegaConf.create({"seed": 3, "run": {"name": "s${seed}"}})
    checkpoint: dict = {"state_dict": {}}
    SaveRunConfig(cfg).on_save_checkpoint(None, None, checkpoint)
    assert checkpoint["deepimg"]["version"] == __version__
    saved = OmegaConf.create(checkpoint["deepimg"]["config"])
    assert saved.run._get_node("name")._value() == "s${seed}"  # interpolations kept
    assert saved.run.name == "s3" and "state_dict" in checkpoint


def fake_trainer(**state) -> SimpleNamespace:
    defaults = {"sanity_checking": False, "is_global_zero": True, "current_epoch": 4,
                "loggers": ["csv", "tensorboard", "wandb"]}  # fmt: skip
    return SimpleNamespace(**{**defaults, **state})


def test_physics_maps_go_to_the_trackers_after_the_first_logger_each_epoch(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(callbacks, "log_physics_maps", lambda *args: calls.append(args))
    psf = torch.rand(5, 5)
    module = SimpleNamespace(physics=SimpleNamespace(maps=lambda: {"psf": psf}))
    PhysicsMaps().on_validation_epoch_end(fake_trainer(), module)
    assert calls == [(["tensorboard", "wandb"], {"psf": psf}, 4)]
    PhysicsMaps().on_validation_epoch_end(fake_trainer(sanity_checking=True), module)
    PhysicsMaps().on_validation_epoch_end(fake_trainer(is_global_zero=False), module)
    nothing = SimpleNamespace(physics=SimpleNamespace(maps=dict))
    PhysicsMaps().on_validation_epoch_end(fake_trainer(), nothing)
    assert len(calls) == 1  # not while sanity checking, not on other ranks, not without maps
