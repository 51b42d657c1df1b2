"""The colour filter array: one colour per pixel, and a mosaic for the network to read."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import OneHot
from deepimg.physics.functional import normalized_convolution, repeat_tile
from deepimg.physics.parameter import PhysicalParameter

log = logging.getLogger(__name__)

# Each filter's transmittance in the scene's R, G, B channels. The white (panchromatic)
# filter passes all three; it is scaled to the colour pixels' full scale (a white scene
# reads 1 through every filter), so its reading is the mean of R, G and B. A real white
# pixel collects about three times the light of a colour one: that matters once shot
# noise follows the CFA, and is not modelled here.
FILTERS: dict[str, tuple[float, float, float]] = {
    "R": (1.0, 0.0, 0.0),
    "G": (0.0, 1.0, 0.0),
    "B": (0.0, 0.0, 1.0),
    "W": (1 / 3, 1 / 3, 1 / 3),
}
# Tiles, row by row: (0, 0) is the scene's top-left pixel.
BAYER = ("RG", "GB")  # RGGB: R at (0, 0), G at (0, 1) and (1, 0), B at (1, 1)
# White on a checkerboard (half the pixels, for sensitivity); the other half is an RGGB Bayer
# at half resolution, the two colour pixels of each 2x2 quadrant sharing its colour.
RGBW = ("WRWG", "RWGW", "WGWB", "GWBW")


def tile_choice(rows: tuple[str, ...]) -> torch.Tensor:
    """A tile written as letters (one string a row) -> its one-hot choice among ``FILTERS``,
    ``(n, h, w)``."""
    names = list(FILTERS)
    index = torch.tensor([[names.index(f) for f in row] for row in rows])
    return torch.nn.functional.one_hot(index, len(names)).permute(2, 0, 1).float()


def random_tile(shape: tuple[int, int], seed: int) -> tuple[str, ...]:
    """Each pixel R, G or B with equal chance, the same for the same ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, 3, shape, generator=generator)
    return tuple("".join("RGB"[int(p)] for p in row) for row in picks)


class ColorFilterArray(PhysicalLayer):
    """A colour filter array (CFA): each pixel records one filtered mix of the scene's R, G, B.

    Forward model, for an RGB scene ``x_c`` (relative irradiance, unitless) and the
    transmittance ``f_c(i, j)`` of the filter over pixel (i, j):

        y(i, j) = sum_{c in R,G,B} f_c(i, j) x_c(i, j),    f_c >= 0,  sum_c f_c = 1

    a one-channel mosaic ``(1, H, W)`` in [0, 1] that a network must demosaic as it
    classifies. ``f`` repeats a tile across the sensor. ``pattern``:

    - ``bayer``: the 2x2 RGGB tile, R at (0, 0), G at (0, 1) and (1, 0), B at (1, 1);
    - ``rgbw``: a 4x4 tile, white on a checkerboard and RGGB colours on the other half;
      white reads (R + G + B) / 3 (see ``FILTERS``);
    - ``random``: each pixel of a ``cfa_tile`` tile R, G or B, drawn with ``cfa_seed``;

    The design is a ``OneHot`` choice among ``FILTERS`` per tile pixel, ``(n, h, w)``.
    ``learnable=true`` (old spelling: ``pattern=learned``) learns it, after Chakrabarti
    (NeurIPS 2016): each pixel of a ``cfa_tile`` tile chooses among the filters R, G, B, W
    through logits ``a``, starting nearly equal (seeded jitter), so a learned CFA owes nothing
    to ``pattern``. Training uses the soft choice ``softmax(T a / std(a))`` over the filters,
    the temperature ``T`` rising from 1 to ``cfa_temperature`` over training (geometrically);
    evaluation uses the hard choice (the one-hot argmax): a physical CFA.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        pattern: Literal["bayer", "rgbw", "random", "learned"] = "bayer",
        cfa_tile: Annotated[int, Range(1, 4096)] | None = 8,
        cfa_temperature: Annotated[float, Range(1, 1e6)] = 100.0,
        cfa_seed: int = 0,
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        channels, h, w = self.in_shape
        if channels != 3:
            raise ValueError(
                f"cfa needs an RGB dataset (3 channels), got {channels} channel"
                f"{'s' if channels != 1 else ''}; choose an RGB dataset (dataset=medmnist with "
                "an RGB subset such as bloodmnist or pathmnist, or dataset=folder "
                "dataset.channels=3), or physical_layer=spectral to mix any channels"
            )
        if pattern == "learned":
            log.warning("pattern=learned is deprecated: write learnable=true (the same CFA)")
            pattern, learnable = "random", True
        self.pattern = pattern
        # A tile larger than the sensor is the whole sensor; null asks for that.
        tile = (h, w) if cfa_tile is None else (min(cfa_tile, h), min(cfa_tile, w))
        # (n, 3): row n is filter n's transmittance in R, G, B.
        self.register_buffer("candidates", torch.tensor(list(FILTERS.values())), persistent=False)
        choice = OneHot(dim=0, final_temperature=cfa_temperature)
        if learnable:
            # Nearly equal logits: every filter starts equally likely; the seeded jitter
            # breaks the ties of the initial hard choice.
            generator = torch.Generator().manual_seed(cfa_seed)
            logits = 0.01 * torch.randn(len(FILTERS), *tile, generator=generator)
            self.cfa = PhysicalParameter(None, choice, learnable=True, latent=logits, tiled=True)
        else:
            fixed = {"bayer": BAYER, "rgbw": RGBW}
            rows = fixed[pattern] if pattern in fixed else random_tile(tile, cfa_seed)
            self.cfa = PhysicalParameter(tile_choice(rows), choice, tiled=True)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (1, *self.in_shape[1:])

    def filters(self, hard: bool = True) -> torch.Tensor:
        """The tile's RGB transmittance ``(3, h, w)``: which colour each pixel records, from
        the hard choice (the design) or the relaxed one."""
        cfa = self.cfa
        weights = cfa.design() if hard else cfa.relaxed()
        return torch.einsum("nc,nhw->chw", self.candidates, weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tile = self.filters(hard=not self.training)
        return (x * repeat_tile(tile, x.shape[-2:])).sum(dim=1, keepdim=True)

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """Bilinear demosaicking: each colour channel interpolated from the pixels whose filter
        passes it, weighted by that transmittance (normalised convolution, which is exactly
        bilinear demosaicking for Bayer; a white pixel lends its mean to every channel)."""
        tile = self.filters(hard=not self.training)
        transmittance = repeat_tile(tile, y.shape[-2:]).unsqueeze(0)
        return normalized_convolution(y, transmittance)

    def maps(self) -> dict[str, torch.Tensor]:
        maps = {"cfa": self.filters(hard=True).detach()}
        if self.learnable:
            maps["cfa_soft"] = self.filters(hard=False).detach()
            maps["cfa_weights"] = self.cfa.relaxed().detach()  # R, G, B, W
        return maps

    def extra_repr(self) -> str:
        h, w = self.filters().shape[-2:]
        design = "learnable" if self.learnable else f"pattern={self.pattern}"
        return f"{design}, tile {h}x{w}"
