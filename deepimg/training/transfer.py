"""Transfer learning: start a network from another run's weights, and freeze parts of it.

The lectures' recipe: train on a big dataset, keep the body, put a new head on it (the last
linear layer, re-initialised, since the new task may have other classes), freeze the body
(``freeze=features``) and train the head, perhaps at its own learning rate (``head_lr``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from deepimg.errors import UserError
from deepimg.models.layers import last_linear
from deepimg.training.checkpoint import load_checkpoint


@dataclass
class Transfer:
    """What ``init_from`` took: the network tensors loaded, and those skipped (with why)."""

    source: Path
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        shown = ", ".join(self.skipped[:6]) + (" ..." if len(self.skipped) > 6 else "")
        return (
            f"init_from={self.source}: loaded {len(self.loaded)} network tensors, skipped "
            f"{len(self.skipped)}" + (f" ({shown})" if self.skipped else "")
        )


def head_names(network: nn.Module) -> set[str]:
    last = last_linear(network)
    return {n for n, m in network.named_modules() if m is last and last is not None}


def init_from(network: nn.Module, ckpt: Path) -> Transfer:
    """Load the checkpoint's network tensors into ``network`` wherever the name and shape
    match, except the head, which stays new."""
    state = load_checkpoint(Path(ckpt))["state_dict"]
    theirs = {k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")}
    own = network.state_dict()
    heads = tuple(f"{name}." for name in head_names(network))
    report, usable = Transfer(Path(ckpt)), {}
    for name, tensor in theirs.items():
        if name.startswith(heads):
            report.skipped.append(f"{name} (the head is new)")
        elif name not in own:
            report.skipped.append(f"{name} (not in this network)")
        elif own[name].shape != tensor.shape:
            report.skipped.append(
                f"{name} (shape {tuple(tensor.shape)} vs {tuple(own[name].shape)})"
            )
        else:
            usable[name] = tensor
    network.load_state_dict(usable, strict=False)
    report.loaded = sorted(usable)
    if all(name.endswith("num_batches_tracked") for name in report.loaded):  # fit anything
        raise UserError(
            f"init_from={ckpt}: no tensor of its network fits this one's names and shapes"
        )
    return report


def freeze(network: nn.Module, names: list[str]) -> int:
    """Stop gradients to the named parts of ``network`` (``features``, ``layer1``, ...);
    returns the number of parameters frozen."""
    parts = dict(network.named_children()) | dict(network.named_modules())
    unknown = [n for n in names if n not in parts]
    if unknown:
        accepted = ", ".join(n for n, _ in network.named_children())
        raise UserError(
            f"freeze: {', '.join(unknown)} is not a part of this network; accepted: {accepted}"
        )
    frozen = 0
    for name in names:
        for p in parts[name].parameters():
            if p.requires_grad:
                p.requires_grad_(False)
                frozen += p.numel()
    return frozen
