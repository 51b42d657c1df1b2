"""Callbacks of every run. What a checkpoint holds besides Lightning's own state: the run's
config, and the random number generators, so that a run resumed from an epoch boundary
continues exactly. And the physical layer's maps, pictured for the trackers each epoch."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback

from deepimg import __version__
from deepimg.training.loggers import log_physics_maps


class SaveRunConfig(Callback):
    """Marks checkpoints as deepimg's and embeds the run's config, for `deepimg eval`."""

    def __init__(self, cfg: DictConfig) -> None:
        self.config_yaml = OmegaConf.to_yaml(cfg, resolve=False)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        checkpoint["deepimg"] = {"version": __version__, "config": self.config_yaml}


def random_state() -> dict[str, Any]:
    """The states of torch's, numpy's and Python's generators, as tensors and plain numbers
    (so a checkpoint still loads with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "cached": cached,
        },  # fmt: skip
        "python": random.getstate(),
    }


def set_random_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


class RandomState(Callback):
    """Saves the generators with every checkpoint and restores them on resume.

    Batch order, augmentation, dropout and the physical layer's noise all draw from these
    generators. Lightning restores weights, optimizer and loops but not the generators, so
    without this a resumed run would see other batches and other noise than the
    uninterrupted one.
    """

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        checkpoint["random_state"] = random_state()

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        if "random_state" in checkpoint:
            set_random_state(checkpoint["random_state"])


class PhysicsMaps(Callback):
    """After each validation epoch, the physical layer's maps (a learned PSF, a mask, the
    gains) as pictures in the trackers that show pictures, so TensorBoard shows the design
    as it is learned."""

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        maps = pl_module.physics.maps()
        if maps:
            log_physics_maps(trainer.loggers[1:], maps, trainer.current_epoch)
