"""Programmable illumination: which LEDs should light the sample for each exposure?"""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Bounded
from deepimg.physics.parameter import PhysicalParameter
from deepimg.physics.spectral import mix_channels, unmix_channels


def initial_powers(
    kind: Literal["random", "all_on", "one_each"], patterns: int, leds: int, seed: int
) -> torch.Tensor:
    """Initial LED powers ``(K, C)`` in [0, 1]: row k lights exposure k."""
    if kind == "all_on":  # bright field: every exposure with every LED at full power
        return torch.ones(patterns, leds)
    if kind == "one_each":  # the raw data: exposure k lit by LED k alone
        if patterns > leds:
            raise ValueError(
                f"led_powers=one_each lights one LED per exposure, so illumination_patterns "
                f"must be at most the {leds} LEDs (channels) of the dataset, got {patterns}"
            )
        return torch.eye(leds)[:patterns]
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(patterns, leds, generator=generator)


class Illumination(PhysicalLayer):
    """A microscope with an LED array that learns how to light the sample.

    After Horstmeyer et al. (2017), "Convolutional neural networks that teach microscopes
    how to image": the dataset's C channels are images of the sample under each of C LEDs
    alone, at full power (relative intensity, unitless). Incoherent light adds in intensity,
    so exposure k, with LED c at power ``w[k, c]``, records

        y_k(i, j) = (1 / C) sum_c w[k, c] x_c(i, j),    0 <= w[k, c] <= 1

    Each LED's power is bounded by its own maximum: the constraint is per LED, not a shared
    budget (unlike a ``spectral`` filter, whose row sums to 1). The exposure is set so that
    every LED at full power on a fully transmitting sample reads full scale: ``y`` is in
    [0, 1] and one LED alone gives 1/C of that light, as it would at a fixed exposure time.
    ``illumination_patterns`` is K, the number of exposures the network receives.
    ``led_powers`` sets the (initial) patterns: ``random`` (uniform in [0, 1], drawn with
    ``led_seed``), ``all_on`` (bright field) or ``one_each`` (LED k alone, K <= C).
    ``learnable=true`` trains the powers, clipped back into [0, 1] after every step.
    ``init``: ``classical``, the ``led_powers`` patterns, learned or fixed (the classical
    microscope is bright field, ``led_powers=all_on``; the default stays ``random``).
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        illumination_patterns: Annotated[int, Range(1, 256)] = 1,
        led_powers: Literal["random", "all_on", "one_each"] = "random",
        led_seed: int = 0,
        init: Literal["classical"] = "classical",
        learnable: bool = True,
    ) -> None:
        super().__init__(in_shape)
        leds = self.in_shape[0]
        if leds < 2:
            raise ValueError(
                "illumination needs a dataset whose channels are images under different LEDs "
                f"(2 or more channels), got {leds}; choose a multi-channel dataset "
                "(dataset=medmnist with an RGB subset, or dataset=folder dataset.channels=3)"
            )
        powers = initial_powers(led_powers, illumination_patterns, leds, led_seed)
        # Clipped rather than reparameterised: a power can sit exactly at 0 (LED off).
        self.powers = PhysicalParameter(powers, Bounded(0.0, 1.0), learnable)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (self.powers().shape[0], *self.in_shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mix_channels(x, self.powers()) / self.in_shape[0]

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """The least-squares unmixing of the exposures into the single-LED images."""
        return unmix_channels(y, self.powers() / self.in_shape[0])

    def maps(self) -> dict[str, torch.Tensor]:
        return {"led_powers": self.powers().detach()}  # rows: exposures k; columns: LEDs c

    def extra_repr(self) -> str:
        k, c = self.powers().shape
        return f"illumination_patterns={k}, leds={c}, learnable={self.learnable}"
