"""High dynamic range by spatially varying exposure: neighbouring pixels integrate for different times."""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics import functional as F
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Positive
from deepimg.physics.parameter import PhysicalParameter
from deepimg.physics.quantize import BITS

EXPOSURE = Range(1e-3, 1e6)
TILE = Range(1, 16)
Saturation = Literal["straight_through", "hard", "soft"]


def soft_clip(v: torch.Tensor, width: float) -> torch.Tensor:
    """A smooth saturation, in [0, 1) for ``v >= 0``: ``v`` well below full scale, 1 well above,
    a knee about ``width`` wide around 1:

        s(v) = (1 + c - softplus(k (1 - v)) / k) / (1 + c),   k = 1 / width,
        c = softplus(-k) / k                                  (so that s(0) = 0)

    ``ds/dv = sigmoid(k (1 - v)) / (1 + c)``: 1/2 at full scale, falling as ``exp(-k (v - 1))``
    above it, never zero."""
    k = 1.0 / width
    c = torch.nn.functional.softplus(torch.tensor(-k, dtype=v.dtype)).item() / k
    return (1 + c - torch.nn.functional.softplus(k * (1 - v)) / k) / (1 + c)


def saturate(v: torch.Tensor, saturation: str, width: float) -> torch.Tensor:
    """``clip(v, 0, 1)`` in the forward pass, with the gradient that ``saturation`` names:
    ``straight_through`` (the identity), ``hard`` (the clip's own: 0 outside [0, 1]) or
    ``soft`` (``soft_clip``'s: smaller the further above full scale, never zero)."""
    if saturation == "straight_through":
        return F.clip_ste(v)
    if saturation == "hard":
        return v.clamp(0.0, 1.0)
    return F.straight_through(v.clamp(0.0, 1.0).detach(), soft_clip(v, width))


def exposure_pattern(
    tile: int, exposures: list[float] | None, exposure_ratio: float
) -> torch.Tensor:
    """The ``(tile, tile)`` exposures: ``exposures`` row-major, or the ladder ``1, r, r^2, ...``
    (whose shortest exposure never saturates a scene in [0, 1])."""
    if exposures is None:
        values = [exposure_ratio**k for k in range(tile * tile)]
    else:
        values = [float(v) for v in exposures]
    if len(values) != tile * tile:
        raise ValueError(
            f"exposures has {len(values)} values; tile={tile} needs tile*tile = {tile * tile} "
            "(row-major), or leave exposures=null for the exposure_ratio ladder"
        )
    if not all(v in EXPOSURE for v in values):
        raise ValueError(
            f"every exposure must be {EXPOSURE}, got {[float(f'{v:.4g}') for v in values]}"
            + ("" if exposures is not None else "; lower exposure_ratio or tile")
        )
    return torch.tensor(values, dtype=torch.float32).reshape(tile, tile)


class Exposure(PhysicalLayer):
    """Spatially varying exposure (SVE): a ``tile x tile`` pattern of exposures, repeated over
    the sensor, then saturation at full well and a ``bits``-bit ADC.

    Forward model, on relative irradiance ``x`` in [0, 1] (1 = full-scale scene):

        t(i, j) = exposures[i mod tile, j mod tile]      (relative exposure, unitless)
        y(i, j) = round(clip(t(i, j) * x(i, j), 0, 1) * (2^bits - 1)) / (2^bits - 1)

    ``t = 1`` fills the well exactly at full-scale irradiance; a pixel with ``t = 64``
    resolves 64 times darker detail and saturates above ``x = 1/64``. ``y`` is the raw
    digital number over its full scale, in [0, 1] (DN units, not divided back by ``t``: the
    network standardises its input, and the raw frame is what the sensor delivers).

    The exposures are given as a row-major list of ``tile * tile`` values (``exposures``),
    or by default as the ladder ``1, r, r^2, ...`` with ``r = exposure_ratio``. With
    ``learnable`` they are trained with the network as ``t = exp(latent)`` (``Positive``),
    kept inside [1e-3, 1e6] by clipping the log after every step.

    Gradients: rounding passes its gradient straight through (as in every ADC here). The
    clip's, ``saturation``:

    - ``straight_through`` (the default): the identity, ``dy/dt = x`` and ``dy/dx = t``
      everywhere. A saturated pixel can learn to shorten its exposure and the bright parts of
      the scene send a gradient, but the gradient also says that a longer exposure always
      brings more signal, saturated or not (learned exposures drift longer: 1.35 times in
      2-epoch runs, with more pixels saturated);
    - ``hard``: the clip's own gradient, zero above full scale: a saturated pixel sends none;
    - ``soft``: the gradient of a soft clip with a knee ``saturation_width`` wide around full
      scale (``soft_clip``): 1 well below, 1/2 at full scale, falling as
      ``exp(-(t x - 1) / saturation_width)`` above, never zero; so saturation costs signal in
      the gradient as in the sensor. The forward pass keeps the hard clip (values never exceed
      full scale, and training sees the sensor evaluation sees).

    ``init``: ``classical``, the pattern above (``exposures`` or the ladder), for a learned
    pattern and a fixed one alike.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        tile: Annotated[int, TILE] = 2,
        exposures: list[Annotated[float, EXPOSURE]] | None = None,
        exposure_ratio: Annotated[float, Range(1, 1e3)] = 4.0,
        bits: Annotated[int, BITS] = 8,
        saturation: Saturation = "straight_through",
        saturation_width: Annotated[float, Range(1e-3, 1)] = 0.1,
        init: Literal["classical"] = "classical",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        _, height, width = self.in_shape
        if tile > min(height, width):
            raise ValueError(
                f"tile={tile} is larger than the {height}x{width} image; use tile <= {min(height, width)}"
            )
        pattern = exposure_pattern(tile, exposures, exposure_ratio)
        self.tile, self.bits, self.init = tile, bits, init
        self.saturation, self.saturation_width = saturation, saturation_width
        bounds = Positive(EXPOSURE.low, EXPOSURE.high)
        self.exposure = PhysicalParameter(pattern, bounds, learnable)  # (tile, tile)

    @property
    def period(self) -> tuple[int, int]:
        """The exposure pattern's tile."""
        return (self.tile, self.tile)

    def exposure_map(self) -> torch.Tensor:
        """The pattern repeated over the sensor, ``(H, W)``: ``t(i, j)`` of the forward model."""
        return F.repeat_tile(self.exposure(), self.in_shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x * self.exposure_map()
        return F.quantize(saturate(v, self.saturation, self.saturation_width), self.bits)

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """Divide by the known exposure, ``x = y / t``, where a pixel is not saturated; a
        saturated pixel says only ``x >= 1 / t``, so it is filled from its unsaturated
        neighbours (normalised convolution), or left at ``1 / t`` when it has none."""
        t = self.exposure_map()
        radiance = y / t
        top = 2**self.bits - 1
        valid = (y < 1 - 0.5 / top).to(y.dtype)  # below the highest code
        filled = F.normalized_convolution(radiance * valid, valid)
        has_neighbours = F.normalized_convolution(valid, valid.new_ones(valid.shape)) > 0
        return torch.where((valid > 0) | ~has_neighbours, radiance, filled)

    def maps(self) -> dict[str, torch.Tensor]:
        return {"exposure": self.exposure().detach()}

    def extra_repr(self) -> str:
        shown = ", ".join(f"{v:.3g}" for v in self.exposure().flatten().tolist())
        return (
            f"tile={self.tile}, exposures=[{shown}], bits={self.bits}, "
            f"saturation={self.saturation}, learnable={self.learnable}"
        )
