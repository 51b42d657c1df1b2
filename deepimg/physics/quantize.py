"""The analogue-to-digital converter: how many bits does the task need, and where should they go?"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics import functional as F
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Positive
from deepimg.physics.parameter import PhysicalParameter

BITS = Range(1, 16)


class Quantize(PhysicalLayer):
    """Uniform ``bits``-bit ADC, optionally behind a learned per-pixel gain, with a fixed or
    learned step.

    Forward model, on relative irradiance ``x`` in [0, 1] (unitless, 1 = full scale):

        DN = round(clip(g * x / s, 0, Q))          Q = 2^bits - 1  (integer, 2^bits levels)
        y  = s * DN                                (unitless, ~g * x inside the full scale)

    ``s`` is the step (the irradiance of one digital number) and ``Q * s`` the full scale.

    * Fixed step (default): ``s = 1 / Q``, so the full scale is 1 and ``y`` is the digital
      number divided by its full scale, in [0, 1].
    * ``learn_step``: ``s = exp(latent)`` is one learned positive scalar, starting at
      ``1 / Q``. This is LSQ (Esser et al. 2020, "Learned Step Size Quantization"): rounding
      passes its gradient straight through, so ``dy/ds = DN - g x / s`` inside the range and
      ``Q`` where the ADC saturates (0 below zero), and that gradient is multiplied by
      ``1 / sqrt(N * Q)`` with ``N`` the pixels of one scene, so the step moves at the pace of
      the network's weights however many pixels and levels share it. With 1 bit it is a
      learned global threshold: a pixel fires (``y = s``) where ``g * x > s / 2``.
      The log keeps the step positive and makes updates relative, so one learning rate
      suits 1 bit (``s = 1``) and 16 bits (``s = 1.5e-5``) alike.

    ``g`` is a per-pixel gain (unitless), 1 everywhere unless ``learnable``: then
    ``g = exp(latent)`` is trained with the network, which moves each pixel's thresholds
    (for 1 bit with the fixed step, pixel (i, j) fires when ``x > 0.5 / g_ij``), and its map
    shows where the network wants more sensitivity. The clip keeps its true gradient in
    ``x`` (zero where saturated).

    ``learnable`` learns this layer's design, the per-pixel gains (each pixel's thresholds),
    as in every layer; ``learn_step`` learns the one step that all pixels share, a separate
    question (where the ADC's full scale should sit). ``init``: ``classical``, the uniform
    ADC: gain 1 everywhere and the step ``1 / Q``, learned or fixed. The learned step is one number: ``extra_repr`` shows it in the title of the run's example
    figure, and ``maps()`` has it as ``adc_step`` (saved as ``.npy``, no picture).
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        bits: Annotated[int, BITS] = 8,
        learnable: bool = False,
        learn_step: bool = False,
        init: Literal["classical"] = "classical",
    ) -> None:
        super().__init__(in_shape)
        self.bits = bits
        # Both log-parameterised (``Positive``), so they stay positive after every step.
        self.gain = PhysicalParameter(torch.ones(self.in_shape), Positive(), learnable)
        step = torch.tensor(1.0 / self.top)
        self.step = PhysicalParameter(
            step, Positive(), learn_step, latent=torch.tensor(-math.log(self.top))
        )

    @property
    def top(self) -> int:
        """``Q = 2^bits - 1``, the largest digital number."""
        return 2**self.bits - 1

    @property
    def learn_step(self) -> bool:
        return self.step.learnable

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = math.prod(self.in_shape)
        step = F.scale_gradient(self.step(), 1.0 / math.sqrt(pixels * self.top))
        # s * DN = F * quantize(g x / F) with the full scale F = Q s, gradients included
        # (rounding straight through, the clip's true gradient). The fixed step 1 / Q gives
        # F = 1 exactly in float32 for every bit depth, so the default ADC is F.quantize itself.
        full_scale = step * self.top
        return F.quantize(x * self.gain() / full_scale, self.bits) * full_scale

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """The digital values in scene units: divided by the gain."""
        return y / self.gain()

    def maps(self) -> dict[str, torch.Tensor]:
        maps = {"gain": self.gain().detach()} if self.gain.learnable else {}
        if self.learn_step:
            maps["adc_step"] = self.step().detach()  # one number, in scene units
        return maps

    def extra_repr(self) -> str:
        gain = self.gain.learnable
        text = f"bits={self.bits}, learnable={gain}, learn_step={self.learn_step}"
        if self.learn_step:
            step = self.step().item()
            text += f", step={step:.4g} (full scale {step * self.top:.4g})"
        return text
