"""The contract every physical layer keeps, and the physical parameter that holds its design.

A layer declares each part of its design (a PSF, a mask, an exposure pattern) once, as a
``PhysicalParameter`` with its constraint and whether it is learnable:

    self.psf = PhysicalParameter(gaussian, Simplex(dims=2), learnable)

and reads it back as a tensor, ``self.psf``, whatever the rest: a learned value is computed
from the unconstrained tensor the optimizer moves (``latent``), a fixed one is a buffer. The
``state_dict`` holds the design under ``psf.value`` in both cases, so a fixed layer loads a
learned one's design (``deepimg eval ... learnable=false`` tests the learned PSF, frozen).
"""

from __future__ import annotations

import functools
import inspect
import math
import typing
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from deepimg.config.constraints import accepts, describe
from deepimg.physics import functional as F


class Constraint:
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


class Unconstrained(Constraint):
    """Any real value (Zernike coefficients: every wavefront is a physical one)."""


class Positive(Constraint):
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


class Bounded(Constraint):
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


class Simplex(Constraint):
    """Non-negative values summing to 1 over the last ``dims`` dimensions (a PSF, a filter):
    ``value = softmax(latent)`` over them, so every optimizer step leaves a valid one.

    ``to_latent`` adds ``floor`` times each distribution's peak before the log: values outside
    the initial support stay reachable by the gradient (a softmax of -inf never moves).
    """

    def __init__(self, dims: int = 1, floor: float = 1e-4) -> None:
        self.dims, self.floor = dims, floor

    def design(self, latent: torch.Tensor) -> torch.Tensor:
        return torch.softmax(latent.flatten(-self.dims), dim=-1).view_as(latent)

    def to_latent(self, value: torch.Tensor) -> torch.Tensor:
        peak = value.flatten(-self.dims).amax(dim=-1)
        return torch.log(value + self.floor * peak.view(*peak.shape, *[1] * self.dims))

    def holds(self, value: torch.Tensor) -> bool:
        sums = value.flatten(-self.dims).sum(dim=-1)
        return bool((value >= 0).all()) and torch.allclose(sums, torch.ones_like(sums), atol=1e-5)


class TopK(Constraint):
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


class OneHot(Constraint):
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
        constraint: Constraint | None = None,
        learnable: bool = False,
        latent: torch.Tensor | None = None,
        tiled: bool = False,
    ) -> None:
        super().__init__()
        self.constraint = constraint or Unconstrained()
        self.learnable, self.tiled = bool(learnable), tiled
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
        return self.relaxed() if self.training else self.design()

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


def checked_arguments(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` refusing any argument its annotation does not accept, with a ``ValueError``
    that names the value and what is accepted: the same check (``accepts``/``describe``) that
    ``config.check_config`` makes on the command line, so Python callers get it too."""
    signature = inspect.signature(init)

    @functools.cache
    def hints() -> dict[str, Any]:
        return typing.get_type_hints(init, include_extras=True)

    @functools.wraps(init)
    def checked(self: PhysicalLayer, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in bound.arguments.items():
            hint = hints().get(name)
            if name not in ("self", "in_shape") and hint is not None and not accepts(hint, value):
                raise ValueError(f"{name}={value!r} is not accepted; expected {describe(hint)}")
        init(self, *args, **kwargs)

    return checked


class PhysicalLayer(nn.Module):
    """A differentiable model of part of an imaging system.

    It maps scenes of shape ``(B, *in_shape)`` (relative irradiance in [0, 1]) to
    measurements of shape ``(B, *out_shape)``. The network behind it is sized from
    ``out_shape``. Its design is declared as ``PhysicalParameter``s, which read as tensors:
    ``self.psf`` is the PSF in use, ``self.physical("psf")`` the parameter that holds it.
    Every subclass's constructor arguments are checked against their annotations.
    """

    def __init__(self, in_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = checked_arguments(cls.__init__)

    def __getattr__(self, name: str) -> Any:
        found = super().__getattr__(name)
        return found() if isinstance(found, PhysicalParameter) else found

    def require_pixels(self, name: str, pixels: int) -> None:
        """Refuse a sensor of more ``pixels`` per side than the scene has (no new detail)."""
        _, height, width = self.in_shape
        if pixels > min(height, width):
            raise ValueError(
                f"{name}={pixels} is more than the scene has ({height}x{width}); "
                f"choose {name} in 1..{min(height, width)}"
            )

    def physical(self, name: str) -> PhysicalParameter:
        """The physical parameter ``name`` itself (``self.<name>`` is its current value)."""
        found = self._modules.get(name)
        if not isinstance(found, PhysicalParameter):
            raise AttributeError(f"{type(self).__name__} has no physical parameter '{name}'")
        return found

    def physical_parameters(self) -> Iterator[tuple[str, PhysicalParameter]]:
        """Every physical parameter of this layer and of its parts, by dotted name."""
        for name, module in self.named_modules():
            if isinstance(module, PhysicalParameter):
                yield name, module

    def fits(self, key: str, tensor: torch.Tensor) -> bool:
        """Whether ``tensor``, saved under ``key`` by another layer (another run's checkpoint),
        can be loaded here: a key of this layer with its shape, or a design it accepts."""
        owner, _, name = key.rpartition(".")
        module = dict(self.named_modules()).get(owner)  # not get_submodule: see __getattr__
        if isinstance(module, PhysicalParameter):
            return module.accepts(name, tensor)
        own = self.state_dict().get(key)
        return own is not None and own.shape == tensor.shape

    @property
    def learnable(self) -> bool:
        """Whether any part of the design is learned."""
        return any(p.learnable for _, p in self.physical_parameters())

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Shape ``(C', H', W')`` of one measurement; most layers keep the scene's shape."""
        return self.in_shape

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """A classical estimate of the scene from the measurement ``y``: ``(B, *out_shape)``
        -> ``(B, *in_shape)``, in the scene's units.

        Restoration networks start from it and learn the residual, and it is their baseline.
        Layers that change the shape or units bring the measurement back (bilinear resize
        after downsampling, bilinear demosaicking after a CFA, division by the exposure);
        here, the measurement as it is when the shapes agree, else a bilinear resize with the
        channels averaged and repeated. Layers that blur, add noise or quantise keep it.
        """
        if tuple(y.shape[1:]) == self.in_shape:
            return y
        channels = self.in_shape[0]
        if y.shape[1] != channels:
            y = y.mean(dim=1, keepdim=True).expand(-1, channels, -1, -1)
        return F.resize(y, self.in_shape[1:])

    def maps(self) -> dict[str, torch.Tensor]:
        """Named physical parameter maps worth looking at (learned gains, PSFs, masks).

        Each is a ``(C, H, W)`` or ``(H, W)`` tensor in physical units; the run saves them
        as ``.npy`` and as pictures in ``physics/``.
        """
        return {}

    def grids(self) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Pixel grids worth drawing over a scene: each name -> one ``(row_edges, col_edges)``
        pair per grid (a camera's, a sensor's), in scene pixels; the run draws them over an
        example scene as ``physics/<name>.png``."""
        return {}

    def curves(self) -> dict[str, tuple[torch.Tensor, str, dict[str, torch.Tensor]]]:
        """Curves worth plotting (filter transmissions, emission spectra): each name ->
        ``(x, x_label, {label: y})``; the run plots them as ``physics/<name>.png``."""
        return {}

    def penalty(self) -> torch.Tensor | float:
        """A term the training loss adds to keep a learned design makeable (smooth filter
        curves); 0 for most layers."""
        return 0.0

    def project(self) -> None:
        """Restore every physical constraint after an optimizer step (without gradients)."""
        for _, parameter in self.physical_parameters():
            parameter.project()

    def anneal(self, progress: float) -> None:
        """Tell the layer how far training has gone, ``progress`` in [0, 1].

        Called before every training batch: relaxed discrete designs (a soft colour filter, a
        sigmoid mask) raise their temperature with it, so the relaxation approaches the hard
        design that evaluation uses. The temperatures are buffers: a resumed run goes on.
        """
        for _, parameter in self.physical_parameters():
            parameter.anneal(progress)
