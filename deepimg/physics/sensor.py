"""A whole imaging chain: several physical layers applied in order (optics -> pixels -> noise -> ADC)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from deepimg.physics.base import PhysicalLayer, checked_arguments

# A part not yet built: called with the shape that reaches it, it returns the physical layer.
PartFactory = Callable[[tuple[int, int, int]], PhysicalLayer]


class Sensor(PhysicalLayer):
    """The composition of named physical layers, in the order given.

    Forward model, for parts ``f_1 .. f_n`` (each with its own equation and units):

        y = f_n( ... f_2( f_1(x) ) ... )

    Each part is sized from the previous part's output, so a blur before a 7x7 sensor
    blurs at scene resolution and the noise after it acts on the 7x7 pixels. Learnable
    parts learn jointly, their constraints are kept part by part, and their maps are saved
    as ``<part>_<map>``.

    ``parts`` maps a name to a factory ``f(in_shape) -> PhysicalLayer``, called in order,
    each with the previous part's ``out_shape``: ``functools.partial(Blur, sigma=1.0)`` from
    Python; from a config, each part is a physical-layer config (a ``_target_`` node, as in
    ``conf/physical_layer/``), which ``deepimg.training.build`` turns into such a factory.
    """

    @checked_arguments
    def __init__(self, in_shape: tuple[int, int, int], parts: dict[str, PartFactory]) -> None:
        super().__init__(in_shape)
        if not parts:
            raise ValueError("sensor needs at least one part; add one under physical_layer.parts")
        self.parts = nn.ModuleDict()
        shape = self.in_shape
        for name, factory in parts.items():
            self.parts[name] = build_part(name, factory, shape)
            shape = self.parts[name].out_shape

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return list(self.parts.values())[-1].out_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for part in self.parts.values():
            x = part(x)
        return x

    @property
    def period(self) -> tuple[int, int]:
        """The least common multiple of the parts' periods."""
        periods = [part.period for part in self.parts.values()]
        return (math.lcm(*(p[0] for p in periods)), math.lcm(*(p[1] for p in periods)))

    def photon_counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The first part with a noise model gives them, from what the parts before it made
        of the scene; the parts after it (the ADC) are left out."""
        for part in self.parts.values():
            counts = part.photon_counts(x)
            if counts is not None:
                return counts
            x = part(x)
        return None

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """Each part's classical estimate, from the last part back to the first."""
        for part in reversed(list(self.parts.values())):
            y = part.to_scene(y)
        return y

    def maps(self) -> dict[str, torch.Tensor]:
        return {f"{name}_{key}": v for name, p in self.parts.items() for key, v in p.maps().items()}

    def curves(self) -> dict[str, tuple[torch.Tensor, str, dict[str, torch.Tensor]]]:
        return {
            f"{name}_{key}": v for name, p in self.parts.items() for key, v in p.curves().items()
        }

    def penalty(self) -> torch.Tensor | float:
        return sum(part.penalty() for part in self.parts.values())

    def grids(self) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
        return {
            f"{name}_{key}": v for name, p in self.parts.items() for key, v in p.grids().items()
        }

    def extra_repr(self) -> str:
        return " -> ".join(self.parts)


def build_part(name: str, factory: PartFactory, in_shape: tuple[int, int, int]) -> PhysicalLayer:
    """One part, sized from the shape that reaches it; its errors name the part."""
    if not callable(factory):
        raise ValueError(
            f"part '{name}' is a {type(factory).__name__}, not a factory of a physical layer"
        )
    try:
        part = factory(in_shape)
    except ValueError as err:
        raise ValueError(f"part '{name}': {err}") from None
    if not isinstance(part, PhysicalLayer):
        raise ValueError(f"part '{name}' is a {type(part).__name__}, not a physical layer")
    return part
