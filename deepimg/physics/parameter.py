"""The physical parameter: one part of a layer's design, its constraint, and whether it is learned."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepimg.physics.constraints import DesignConstraint, Unconstrained


class PhysicalParameter(nn.Module):
    """One part of a layer's design: its value, its constraint, and whether it is learned.

    - fixed: ``value`` is a buffer, used as it is;
    - learnable: ``latent`` is an ``nn.Parameter`` (initialised from ``value`` through the
      constraint, or given directly, e.g. the nearly equal scores a learned mask starts from);
      calling the parameter gives ``constraint.relaxed(latent)`` in training and the hard
      ``constraint.design(latent)`` in evaluation.

    ``state_dict``: ``value`` (the design, in both cases), and for a learnable parameter
    ``latent`` and the annealing ``temperature`` too, so a resumed run continues exactly.
    A learnable parameter given only ``value`` (a fixed checkpoint) starts from that design.
    ``tiled``: the value is a tile repeated over the sensor (a CFA), so a design of any tile
    size is valid, and a fixed parameter takes the size of the design it loads.
    """

    def __init__(
        self,
        value: torch.Tensor | None,
        constraint: DesignConstraint | None = None,
        learnable: bool = False,
        latent: torch.Tensor | None = None,
        tiled: bool = False,
    ) -> None:
        super().__init__()
        self.constraint = constraint or Unconstrained()
        self.learnable, self.tiled = bool(learnable), tiled
        self.hardened = False  # training reads the hard design (see forward); set by stages
        if value is not None and not self.constraint.holds(value):
            raise ValueError(f"a {type(self.constraint).__name__} value is out of its bounds")
        if self.learnable:
            start = latent if latent is not None else self.constraint.to_latent(value)
            self.latent = nn.Parameter(start.detach().clone().float())
            if self.constraint.anneals:
                self.register_buffer("temperature", torch.tensor(1.0))
        else:
            if value is None:
                raise ValueError("a fixed physical parameter needs a value")
            self.register_buffer("value", value.detach().clone().float())

    def design(self) -> torch.Tensor:
        """The hard design: what the hardware has (and what evaluation uses)."""
        return self.constraint.design(self.latent) if self.learnable else self.value

    def relaxed(self) -> torch.Tensor:
        """What training sees: the relaxation of a learnable design, at its temperature."""
        if not self.learnable:
            return self.value
        temperature = self.temperature if self.constraint.anneals else 1.0
        return self.constraint.relaxed(self.latent, temperature)

    def forward(self) -> torch.Tensor:
        """The design in use: the hard one in evaluation; in training the relaxation, or
        once ``hardened`` the hard design itself, which a learnable parameter still moves
        through the relaxation's gradient (straight-through: forward the hardware, backward
        the relaxation). That gradient is the relaxation's at temperature 1, not at the
        annealed one: annealed to hard (a softmax at ``T = 100``), its gradient vanishes and
        the design could no longer move. A frozen one (``latent.requires_grad`` off) needs
        no gradient."""
        if not self.training:
            return self.design()
        if not (self.hardened and self.learnable):
            return self.relaxed()
        hard = self.design()
        if not self.latent.requires_grad:
            return hard
        relaxed = self.constraint.relaxed(self.latent, 1.0)
        return hard + (relaxed - relaxed.detach())

    @torch.no_grad()
    def project(self) -> None:
        if self.learnable:
            self.constraint.project(self.latent)

    @torch.no_grad()
    def anneal(self, progress: float) -> None:
        if self.learnable and self.constraint.anneals:
            self.temperature.fill_(self.constraint.final_temperature**progress)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self.learnable:  # the design itself, under the name a fixed parameter uses
            destination[prefix + "value"] = self.design().detach()

    def accepts(self, key: str, tensor: torch.Tensor) -> bool:
        """Whether ``tensor``, saved under this parameter's ``key`` (``value``, ``latent``,
        ``temperature``), fits: the same shape, or any tile of a fixed tiled design."""
        if key == "value" and self.tiled and not self.learnable:
            return tensor.ndim == self.value.ndim and tensor.shape[0] == self.value.shape[0]
        own = getattr(self, key, None)
        return isinstance(own, torch.Tensor) and own.shape == tensor.shape

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        state_dict = {k: v for k, v in state_dict.items() if k.startswith(prefix)}
        value = state_dict.pop(prefix + "value", None) if self.learnable else None
        if self.learnable and prefix + "latent" not in state_dict and value is not None:
            state_dict[prefix + "latent"] = self.constraint.to_latent(value.float())
        loaded = state_dict.get(prefix + "value")
        if loaded is not None and not self.learnable and self.accepts("value", loaded):
            self.value = torch.empty_like(loaded, device=self.value.device)  # its tile size
        super()._load_from_state_dict(state_dict, prefix, *args)

    def extra_repr(self) -> str:
        shape = tuple(self.design().shape)
        return f"{type(self.constraint).__name__}, shape {shape}, learnable={self.learnable}"
