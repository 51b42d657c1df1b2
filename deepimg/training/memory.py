"""How much memory a run's first batch needs, estimated before anything large is allocated.

A config can pass every check and still ask for a network that no machine holds:
``task=localize dataset.canvas=4096`` sizes the CNN's head for 4096 x 4096 canvases, 34 GB of
weights. The estimate builds the network on PyTorch's ``meta`` device (shapes, no storage),
counts its parameters (weights, gradients and two optimizer moments: 16 bytes each), and runs
one batch through it there to add up the activations a backward pass keeps (twice each
output, in float32). It is compared with what this machine has: its RAM, or the GPU's memory
for a GPU trainer.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import torch
from omegaconf import DictConfig
from torch import nn

from deepimg.data.datamodule import ImageDataModule
from deepimg.errors import UserError
from deepimg.training.build import build, build_task, import_target, network_output

BYTES_PER_PARAMETER = 16  # float32 weight, gradient and Adam's two moments
BYTES_PER_ACTIVATION = 8  # float32 output, kept for the backward pass, and its gradient


class Need(NamedTuple):
    parameters: int  # bytes
    activations: int  # bytes, for one batch

    @property
    def total(self) -> int:
        return self.parameters + self.activations


def activation_count(network: nn.Module, batch: torch.Tensor) -> int | None:
    """Elements output by the network's leaf modules for ``batch`` (on the meta device), or
    None where the forward pass cannot run without data."""
    counted = [0]

    def count(_module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            counted[0] += output.numel()

    hooks = [m.register_forward_hook(count) for m in network.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            network(batch)
    except Exception:  # noqa: BLE001 - an op the meta device lacks: count the weights only
        return None
    finally:
        for hook in hooks:
            hook.remove()
    return counted[0]


def memory_need(cfg: DictConfig, datamodule: ImageDataModule) -> Need:
    """The memory that the run's network needs for training on one batch (see the module)."""
    task = build_task(cfg, datamodule)
    physics = build(cfg.physical_layer, in_shape=datamodule.in_shape)
    in_shape = task.network_input_shape(physics)
    output = network_output(task, import_target(cfg.model._target_, "model"), cfg.model._target_)
    with torch.device("meta"):
        network = build(cfg.model, in_shape=in_shape, **task.network_kwargs(in_shape, output))
        batch = torch.empty(int(cfg.dataset.get("batch_size") or 1), *in_shape)
        activations = activation_count(network, batch) or 0
    parameters = sum(p.numel() for p in network.parameters())
    return Need(parameters * BYTES_PER_PARAMETER, activations * BYTES_PER_ACTIVATION)


def machine_memory(cfg: DictConfig) -> tuple[int, str]:
    """Bytes of memory the run can use, and what they are: the GPU's for a GPU trainer."""
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return torch.cuda.get_device_properties(0).total_memory, "the GPU has"
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "this machine has"


def check_memory(cfg: DictConfig, datamodule: ImageDataModule) -> Need:
    """Refuse, in one line, a run whose first batch needs more memory than there is."""
    need = memory_need(cfg, datamodule)
    have, where = machine_memory(cfg)
    if need.total > have:
        gb = 2**30
        raise UserError(
            f"model={cfg.model._target_.rsplit('.', 1)[-1]} on these {datamodule.in_shape} "
            f"scenes needs about {need.total / gb:.1f} GB for one batch (parameters and their "
            f"optimizer state {need.parameters / gb:.1f} GB, activations "
            f"{need.activations / gb:.1f} GB), and {where} {have / gb:.1f} GB; choose smaller "
            "scenes (dataset.canvas, dataset.img_size), a smaller model or dataset.batch_size"
        )
    return need
