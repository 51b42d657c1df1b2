"""High dynamic range by spatially varying exposure: neighbouring pixels integrate for different times."""

from __future__ import annotations

from typing import Annotated

import torch

from deepimg.config.constraints import Range
from deepimg.physics import functional as F
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Positive
from deepimg.physics.parameter import PhysicalParameter
from deepimg.physics.quantize import BITS

EXPOSURE = Range(1e-3, 1e6)
TILE = Range(1, 16)


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

    Gradients: rounding passes its gradient straight through (as in every ADC here), and so
    does the clip. With the true clip gradient (zero above full scale), a pixel whose
    exposure saturates it could never learn to shorten that exposure, and the bright parts
    of the scene would send no gradient to the scene; straight through, ``dy/dt = x`` and
    ``dy/dx = t`` everywhere.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        tile: Annotated[int, TILE] = 2,
        exposures: list[Annotated[float, EXPOSURE]] | None = None,
        exposure_ratio: Annotated[float, Range(1, 1e3)] = 4.0,
        bits: Annotated[int, BITS] = 8,
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        _, height, width = self.in_shape
        if tile > min(height, width):
            raise ValueError(
                f"tile={tile} is larger than the {height}x{width} image; use tile <= {min(height, width)}"
            )
        pattern = exposure_pattern(tile, exposures, exposure_ratio)
        self.tile, self.bits = tile, bits
        bounds = Positive(EXPOSURE.low, EXPOSURE.high)
        self.exposure = PhysicalParameter(pattern, bounds, learnable)  # (tile, tile)

    def exposure_map(self) -> torch.Tensor:
        """The pattern repeated over the sensor, ``(H, W)``: ``t(i, j)`` of the forward model."""
        return F.repeat_tile(self.exposure(), self.in_shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.quantize(F.clip_ste(x * self.exposure_map()), self.bits)

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
            f"tile={self.tile}, exposures=[{shown}], bits={self.bits}, learnable={self.learnable}"
        )
