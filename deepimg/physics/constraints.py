"""What values a physical parameter may take, and how a learnable one keeps to them.

Each ``DesignConstraint`` maps the unconstrained tensor the optimizer moves (``latent``) to a
value the hardware can have (``design``), relaxes discrete designs for training
(``relaxed``), and restores bounds after an optimizer step (``project``). Not to be confused
with ``deepimg.config.constraints.Constraint``, which checks a config value.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepimg.physics import functional as F


class DesignConstraint:
    """What values a physical parameter may take, and how a learnable one keeps to them.

    ``design(latent)`` maps the unconstrained tensor the optimizer moves to the value the
    hardware has; ``relaxed(latent, temperature)`` is what training sees (the same, except for
    discrete designs, which training relaxes); ``to_latent(value)`` goes back (lossy only for
    discrete designs); ``project(latent)`` restores bounds that an optimizer step crossed;
    ``holds(value)`` says whether a value is allowed. ``anneals``: training raises a
    temperature (from 1 to ``final_temperature``, geometrically) that hardens the relaxation.
    """

    anneals = False
    final_temperature = 1.0

    def design(self, latent: torch.Tensor) -> torch.Tensor:
        return latent

    def relaxed(self, latent: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
        return self.design(latent)

    def to_latent(self, value: torch.Tensor) -> torch.Tensor:
        return value.clone()

    def project(self, latent: torch.Tensor) -> None:
        """Called without gradients after every optimizer step; most constraints need nothing."""

    def holds(self, value: torch.Tensor) -> bool:
        return bool(torch.isfinite(value).all())


class Unconstrained(DesignConstraint):
    """Any real value (Zernike coefficients: every wavefront is a physical one)."""


class Positive(DesignConstraint):
    """``value = exp(latent)``, within ``[low, high]`` when given (kept by clipping the log).

    The log keeps the value positive and makes updates relative, so one learning rate suits
    an exposure of 1e-3 and one of 1e3 alike.
    """

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low, self.high = low, high

    def design(self, latent: torch.Tensor) -> torch.Tensor:
        return latent.exp()

    def to_latent(self, value: torch.Tensor) -> torch.Tensor:
        return value.log()

    def project(self, latent: torch.Tensor) -> None:
        if self.low is not None or self.high is not None:
            low = None if self.low is None else math.log(self.low)
            high = None if self.high is None else math.log(self.high)
            latent.clamp_(low, high)

    def holds(self, value: torch.Tensor) -> bool:
        slack = 1e-5  # exp(log(b)) differs from b in the last bits
        low_ok = self.low is None or bool((value >= self.low * (1 - slack)).all())
        high_ok = self.high is None or bool((value <= self.high * (1 + slack)).all())
        return bool((value > 0).all()) and low_ok and high_ok


class Bounded(DesignConstraint):
    """``low <= value <= high``, kept by clipping after every step.

    Clipped rather than reparameterised: a value can sit exactly at a bound (an LED off, a
    threshold of one photon), which a sigmoid could only approach. ``scale``: the optimizer
    moves ``value / scale``, so that one learning rate suits a design in nm (scale 100) as
    well as one in 0..1.
    """

    def __init__(
        self, low: float | None = None, high: float | None = None, scale: float = 1.0
    ) -> None:
        self.low, self.high, self.scale = low, high, scale

    def design(self, latent: torch.Tensor) -> torch.Tensor:
        return latent * self.scale if self.scale != 1 else latent

    def to_latent(self, value: torch.Tensor) -> torch.Tensor:
        return value / self.scale

    def project(self, latent: torch.Tensor) -> None:
        low = None if self.low is None else self.low / self.scale
        high = None if self.high is None else self.high / self.scale
        latent.clamp_(low, high)

    def holds(self, value: torch.Tensor) -> bool:
        slack = 1e-6 * self.scale  # latent * scale may overshoot a bound in the last bit
        low_ok = self.low is None or bool((value >= self.low - slack).all())
        return low_ok and (self.high is None or bool((value <= self.high + slack).all()))


class Simplex(DesignConstraint):
    """Non-negative values summing to 1 over the last ``dims`` dimensions (a PSF, a filter):
    ``value = softmax(latent)`` over them, so every optimizer step leaves a valid one.

    ``to_latent`` puts ``floor`` times each distribution's peak where the value is 0, before
    the log: values outside the initial support stay reachable by the gradient (a softmax of
    -inf never moves), and a design without zeros comes back exactly (to rounding).
    """

    def __init__(self, dims: int = 1, floor: float = 1e-4) -> None:
        self.dims, self.floor = dims, floor

    def design(self, latent: torch.Tensor) -> torch.Tensor:
        return torch.softmax(latent.flatten(-self.dims), dim=-1).view_as(latent)

    def to_latent(self, value: torch.Tensor) -> torch.Tensor:
        peak = (
            value.flatten(-self.dims)
            .amax(dim=-1)
            .view(*value.shape[: -self.dims], *[1] * self.dims)
        )
        return torch.log(torch.where(value > 0, value, self.floor * peak))

    def holds(self, value: torch.Tensor) -> bool:
        sums = value.flatten(-self.dims).sum(dim=-1)
        return bool((value >= 0).all()) and torch.allclose(sums, torch.ones_like(sums), atol=1e-5)


class TopK(DesignConstraint):
    """A binary design with exactly ``k`` ones (K active pixels), from one score per element.

    The design is the top ``k`` scores. Training relaxes it (``functional.soft_mask``: a
    sigmoid of the scores in units of their spread, thresholded so it sums to ``k``):

    - ``topk``: the hard mask forward, the soft mask's gradient backward (straight-through);
    - ``sigmoid``: the soft mask forward, its temperature rising from 1 to
      ``final_temperature`` over training, so it hardens into the top-``k`` one.
    """

    def __init__(self, k: int, relaxation: str = "topk", final_temperature: float = 100.0) -> None:
        self.k, self.relaxation, self.final_temperature = k, relaxation, final_temperature
        self.anneals = relaxation == "sigmoid"

    def design(self, latent: torch.Tensor) -> torch.Tensor:
        return F.top_k_mask(latent, self.k)

    def relaxed(self, latent: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
        if self.relaxation == "sigmoid":
            return F.soft_mask(latent, self.k, temperature)
        return F.straight_through(self.design(latent), F.soft_mask(latent, self.k, 1.0))

    def holds(self, value: torch.Tensor) -> bool:
        binary = bool(((value == 0) | (value == 1)).all())
        return binary and int(value.sum().item()) == self.k


class OneHot(DesignConstraint):
    """One of ``n`` choices per element, along dimension ``dim`` (a filter per CFA pixel).

    The design is the one-hot argmax of the logits. Training uses
    ``softmax(T * logits / std(logits))`` along ``dim``: the temperature ``T`` in units of the
    logits' spread (``functional.in_units_of_spread``) rises from 1 to ``final_temperature``.
    """

    anneals = True

    def __init__(self, dim: int = 0, final_temperature: float = 100.0) -> None:
        self.dim, self.final_temperature = dim, final_temperature

    def design(self, latent: torch.Tensor) -> torch.Tensor:
        choice = latent.argmax(dim=self.dim)
        return (
            nn.functional.one_hot(choice, latent.shape[self.dim]).movedim(-1, self.dim).to(latent)
        )

    def relaxed(self, latent: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
        return torch.softmax(temperature * F.in_units_of_spread(latent), dim=self.dim)

    def holds(self, value: torch.Tensor) -> bool:
        binary = bool(((value == 0) | (value == 1)).all())
        return binary and bool((value.sum(dim=self.dim) == 1).all())
