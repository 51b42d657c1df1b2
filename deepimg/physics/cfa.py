"""The colour filter array: one colour per pixel, and a mosaic for the network to read."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Bounded, OneHot
from deepimg.physics.functional import margin_logits, normalized_convolution, repeat_tile
from deepimg.physics.noise import Noise
from deepimg.physics.parameter import PhysicalParameter

log = logging.getLogger(__name__)

# Each filter's physical transmittance in the scene's R, G, B bands: a colour filter passes
# its own band, the white (clear, panchromatic) one passes all three.
TRANSMITTANCE: dict[str, tuple[float, float, float]] = {
    "R": (1.0, 0.0, 0.0),
    "G": (0.0, 1.0, 0.0),
    "B": (0.0, 0.0, 1.0),
    "W": (1.0, 1.0, 1.0),
}
# What a pixel reads, per unit of the scene's R, G, B: its transmittance over its own full
# scale, so that a white scene reads 1 through every filter and the white pixel reads the
# mean of R, G and B. The white pixel collects three times the light of a colour one
# (``LIGHT``): that is what its reading's shot noise sees (``photons``), not its value.
FILTERS: dict[str, tuple[float, float, float]] = {
    name: tuple(t / sum(ts) for t in ts) for name, ts in TRANSMITTANCE.items()
}
# Each filter's share of the light a clear pixel collects from a white scene.
LIGHT: dict[str, float] = {name: sum(ts) / 3 for name, ts in TRANSMITTANCE.items()}
# The filters a one-hot CFA chooses among (``palette``); ``free`` is a continuous
# transmittance per pixel instead.
PALETTES: dict[str, str] = {"rgb": "RGB", "rgbw": "RGBW"}
# Tiles, row by row: (0, 0) is the scene's top-left pixel.
BAYER = ("RG", "GB")  # RGGB: R at (0, 0), G at (0, 1) and (1, 0), B at (1, 1)
# White on a checkerboard (half the pixels, for sensitivity); the other half is an RGGB Bayer
# at half resolution, the two colour pixels of each 2x2 quadrant sharing its colour.
RGBW = ("WRWG", "RWGW", "WGWB", "GWBW")
# A free filter passing (almost) nothing still reads in units of its own full scale.
DARKEST = 1e-3


def tile_choice(rows: tuple[str, ...], letters: str = "RGBW") -> torch.Tensor:
    """A tile written as letters (one string a row) -> its one-hot choice among ``letters``
    (filters of ``FILTERS``), ``(n, h, w)``."""
    index = torch.tensor([[letters.index(f) for f in row] for row in rows])
    return torch.nn.functional.one_hot(index, len(letters)).permute(2, 0, 1).float()


def tile_transmittance(rows: tuple[str, ...]) -> torch.Tensor:
    """A tile written as letters -> its physical transmittance ``(3, h, w)`` in [0, 1]."""
    return torch.tensor([[TRANSMITTANCE[f] for f in row] for row in rows]).permute(2, 0, 1)


def random_tile(shape: tuple[int, int], seed: int) -> tuple[str, ...]:
    """Each pixel R, G or B with equal chance, the same for the same ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, 3, shape, generator=generator)
    return tuple("".join("RGB"[int(p)] for p in row) for row in picks)


def repeat_rows(rows: tuple[str, ...], shape: tuple[int, int]) -> tuple[str, ...]:
    """A tile written as letters, repeated (and cropped) to ``shape``."""
    h, w = shape
    return tuple((rows[i % len(rows)] * w)[:w] for i in range(h))


class ColorFilterArray(PhysicalLayer):
    """A colour filter array (CFA): each pixel records one filtered mix of the scene's R, G, B.

    Forward model, for an RGB scene ``x_c`` (relative irradiance, unitless) and the
    transmittance ``t_c(i, j)`` in [0, 1] of the filter over pixel (i, j):

        f_c(i, j) = t_c(i, j) / sum_c t_c(i, j)                (each pixel's own full scale)
        mu(i, j)  = sum_{c in R,G,B} f_c(i, j) x_c(i, j)       (unitless, in [0, 1])
        y(i, j)   = mu(i, j)                                    (photons=null: no noise)

    a one-channel mosaic ``(1, H, W)`` that a network must demosaic as it classifies: a white
    scene reads 1 through every filter, a colour pixel reads its channel, a white one the mean
    of R, G and B. ``f`` repeats a tile across the sensor. With a photon budget ``photons``
    (the mean photon count of a clear, white-filtered pixel at full-scale white irradiance,
    quantum efficiency included), each pixel counts electrons

        g(i, j) = sum_c t_c(i, j) / 3                           (its share of a clear pixel's
                                                                 light: 1/3 colour, 1 white)
        e(i, j) = max(0, Poisson(photons g mu) + Normal(0, read_noise_e^2))   (electrons)
        y(i, j) = e(i, j) / (photons g(i, j))                   (unitless, ~mu)

    so a white pixel reads the same value as without noise from three times the photons of a
    colour pixel. The noise is the ``noise`` layer's (``deepimg/physics/noise.py``): exact
    Poisson and Gaussian draws, in training with the gradient straight through the Poisson
    draw to its mean (so it reaches the scene and the filters), in evaluation seeded by
    ``noise_seed`` and the batch. ``phase_channels=true`` appends the filters
    ``f_c(i, j)`` as three more channels (Henz et al. 2018), ``(4, H, W)``, so a network knows
    which filter each pixel has (``to_scene`` demosaics channel 0, so a task that reads the
    classical estimate, as restoration does, does not see them).

    ``pattern`` (the classical designs):

    - ``bayer``: the 2x2 RGGB tile, R at (0, 0), G at (0, 1) and (1, 0), B at (1, 1);
    - ``rgbw``: a 4x4 tile, white on a checkerboard and RGGB colours on the other half;
    - ``random``: each pixel of a ``cfa_tile`` tile R, G or B, drawn with ``cfa_seed``.

    ``palette``: the filters a pixel may have. ``rgbw`` (the default) and ``rgb``: a ``OneHot``
    choice among R, G, B (and W) per tile pixel, ``(n, h, w)``; ``free``: any transmittance
    ``t`` in [0, 1]^3 per tile pixel, ``(3, h, w)`` (``Bounded(0, 1)``: a filter may pass
    a band fully or not at all, and white is (1, 1, 1)).

    ``learnable=true`` (old spelling: ``pattern=learned``) learns the tile, ``cfa_tile``
    pixels a side, after Chakrabarti (NeurIPS 2016): each pixel chooses among the palette's
    filters through logits ``a``; training uses the soft choice ``softmax(T a / std(a))``,
    the temperature ``T`` rising from 1 to ``cfa_temperature`` over training (geometrically);
    evaluation uses the hard choice (the one-hot argmax): a physical CFA. A ``free`` palette
    learns ``t`` itself, clipped to [0, 1]. ``init`` is where it starts, and the design of the
    fixed layer built from the same keys:

    - ``classical``: ``pattern`` (Bayer by default), repeated over the tile (a whole number
      of its periods); a learned choice starts with the pattern's filter 2 logits above the
      others (``functional.START_MARGIN``), so its hard design is the pattern exactly;
    - ``uniform``: nearly equal logits (seeded jitter of 0.01 by ``cfa_seed``), every filter
      equally likely, so the design owes nothing to ``pattern`` (its hard design is the argmax
      of the jitter); ``free``: grey filters, 0.5 with the same jitter.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        pattern: Literal["bayer", "rgbw", "random", "learned"] = "bayer",
        palette: Literal["rgb", "rgbw", "free"] = "rgbw",
        init: Literal["classical", "uniform"] = "classical",
        cfa_tile: Annotated[int, Range(1, 4096)] | None = 8,
        cfa_temperature: Annotated[float, Range(1, 1e6)] = 100.0,
        cfa_seed: int = 0,
        photons: Annotated[float, Range(1e-3, 1e9)] | None = None,
        read_noise_e: Annotated[float, Range(0, 1e6)] = 0.0,
        noise_seed: int = 0,
        phase_channels: bool = False,
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
            pattern, learnable = "bayer", True
        self.pattern, self.palette, self.init = pattern, palette, init
        self.phase_channels = phase_channels
        # A tile larger than the sensor is the whole sensor; null asks for that.
        tile = (h, w) if cfa_tile is None else (min(cfa_tile, h), min(cfa_tile, w))
        letters = PALETTES.get(palette, "RGB")
        # (n, 3): row n is filter n's reading per unit of R, G, B; (n,): its share of light.
        self.register_buffer(
            "candidates", torch.tensor([FILTERS[f] for f in letters]), persistent=False
        )
        self.register_buffer("light", torch.tensor([LIGHT[f] for f in letters]), persistent=False)
        self.cfa = self.start(pattern, palette, init, tile, cfa_temperature, cfa_seed, learnable)
        self.photons = photons
        # Fed mean electrons (photons=1: one electron a unit), it adds the noise in electrons.
        self.shot = (
            None
            if photons is None
            else Noise(
                (1, h, w), photons=1.0, full_well_e=1e9, read_noise_e=read_noise_e,
                noise_seed=noise_seed,
            )
        )  # fmt: skip

    def start(
        self, pattern: str, palette: str, init: str, tile: tuple[int, int],
        temperature: float, seed: int, learnable: bool,
    ) -> PhysicalParameter:  # fmt: skip
        """The design the CFA starts from (``init``), learned or fixed."""
        letters = PALETTES.get(palette, "RGB")
        if init == "uniform":
            generator = torch.Generator().manual_seed(seed)
            jitter = 0.01 * torch.randn(len(letters), *tile, generator=generator)
            if palette == "free":
                grey = (0.5 + jitter).clamp(0, 1)
                return PhysicalParameter(grey, Bounded(0.0, 1.0), learnable, tiled=True)
            choice = OneHot(dim=0, final_temperature=temperature)
            start, latent = choice.design(jitter), jitter
        else:
            rows = self.classical_rows(pattern, tile, learnable, seed)
            if palette == "free":
                clear = tile_transmittance(rows)
                return PhysicalParameter(clear, Bounded(0.0, 1.0), learnable, tiled=True)
            missing = sorted({f for row in rows for f in row} - set(letters))
            if missing:
                raise ValueError(
                    f"pattern={pattern} has {', '.join(missing)} pixels, which palette={palette} "
                    "does not; choose palette=rgbw or palette=free"
                )
            choice = OneHot(dim=0, final_temperature=temperature)
            start = tile_choice(rows, letters)
            latent = margin_logits(start)
        if learnable:
            return PhysicalParameter(None, choice, learnable=True, latent=latent, tiled=True)
        return PhysicalParameter(start, choice, tiled=True)

    def classical_rows(
        self, pattern: str, tile: tuple[int, int], learnable: bool, seed: int
    ) -> tuple[str, ...]:
        """The tile of ``pattern`` as letters: as it is for a fixed CFA, repeated over the
        ``cfa_tile`` tile that a learned one moves (a whole number of the pattern's periods,
        unless the tile is the whole sensor)."""
        if pattern == "random":
            return random_tile(tile, seed)
        rows = {"bayer": BAYER, "rgbw": RGBW}[pattern]
        if not learnable:
            return rows
        period = (len(rows), len(rows[0]))
        whole_sensor = tile == tuple(self.in_shape[1:])
        if not whole_sensor and (tile[0] % period[0] or tile[1] % period[1]):
            raise ValueError(
                f"a learned CFA starting from pattern={pattern} ({period[0]}x{period[1]}) needs "
                f"a cfa_tile that holds whole {period[0]}x{period[1]} tiles, got "
                f"{tile[0]}x{tile[1]}; choose cfa_tile={max(period) * 2} or another multiple, "
                "or init=uniform"
            )
        return repeat_rows(rows, tile)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (4 if self.phase_channels else 1, *self.in_shape[1:])

    def design_in_use(self, hard: bool | None = None) -> torch.Tensor:
        """The tile's design: the one in use now (``hard=None``: the relaxation in training,
        the hard design in evaluation), the hard one (``True``) or the relaxed one (``False``)."""
        if hard is None:
            return self.cfa()
        return self.cfa.design() if hard else self.cfa.relaxed()

    def filters(self, hard: bool | None = True) -> torch.Tensor:
        """The tile's filters ``f`` ``(3, h, w)``: what each pixel reads per unit of R, G, B
        (its transmittance over its own full scale), from the hard design, the relaxed one
        (``hard=False``) or the one in use (``None``)."""
        return self.filters_of(self.design_in_use(hard))

    def filters_of(self, design: torch.Tensor) -> torch.Tensor:
        """``f`` ``(3, h, w)`` of a design (one-hot weights, or free transmittances)."""
        if self.palette == "free":
            return design / design.sum(dim=0, keepdim=True).clamp_min(DARKEST)
        return torch.einsum("nc,nhw->chw", self.candidates, design)

    def light_of(self, design: torch.Tensor) -> torch.Tensor:
        """``g`` ``(h, w)`` of a design: each tile pixel's share of a clear pixel's light."""
        if self.palette == "free":
            return (design.sum(dim=0) / 3).clamp_min(DARKEST / 3)
        return torch.einsum("n,nhw->hw", self.light, design)

    def mosaic(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The noiseless mosaic ``mu`` ``(B, 1, H, W)``, the filters ``f`` repeated over the
        sensor ``(3, H, W)``, and each pixel's photons at full scale ``photons g`` (None
        without a photon budget), from the design in use."""
        design = self.cfa()
        tile = repeat_tile(self.filters_of(design), x.shape[-2:])
        mu = (x * tile).sum(dim=1, keepdim=True)
        if self.photons is None:
            return mu, tile, None
        light = repeat_tile(self.light_of(design), x.shape[-2:]).to(x.dtype)
        return mu, tile, self.photons * light

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, tile, photons = self.mosaic(x)
        if photons is not None:
            y = self.shot(y * photons) / photons
        if self.phase_channels:
            y = torch.cat([y, tile.to(y.dtype).expand(len(y), -1, -1, -1)], dim=1)
        return y

    @property
    def period(self) -> tuple[int, int]:
        """The tile's size: the mosaic repeats it."""
        h, w = self.filters().shape[-2:]
        return (int(h), int(w))

    def photon_counts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Each pixel's electrons ``e`` and their variance ``photons g mu + read_noise_e^2``;
        ``None`` without a photon budget."""
        mu, _, photons = self.mosaic(x)
        if photons is None:
            return None
        mean = mu * photons
        return self.shot.electrons(mean), mean.clamp_min(0) + self.shot.read_noise_e**2

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """Bilinear demosaicking: each colour channel interpolated from the pixels whose filter
        passes it, weighted by their reading per unit of that channel ``f_c`` (normalised
        convolution, which is exactly bilinear demosaicking for Bayer). The same simple
        per-channel estimate serves every palette: a white pixel lends its reading (the mean
        of R, G, B) to each channel with weight 1/3, a free filter in proportion to ``f_c``."""
        tile = self.filters(hard=None)
        transmittance = repeat_tile(tile, y.shape[-2:]).unsqueeze(0)
        return normalized_convolution(y[:, :1], transmittance)

    def maps(self) -> dict[str, torch.Tensor]:
        maps = {"cfa": self.filters(hard=True).detach()}
        if self.palette == "free":
            maps["cfa_transmittance"] = self.cfa.design().detach()  # t, (3, h, w)
        elif self.learnable:
            maps["cfa_soft"] = self.filters(hard=False).detach()
            maps["cfa_weights"] = self.cfa.relaxed().detach()  # one per palette filter
        return maps

    def extra_repr(self) -> str:
        h, w = self.filters().shape[-2:]
        design = "learnable" if self.learnable else f"pattern={self.pattern}"
        noise = "" if self.photons is None else f", photons={self.photons:g}"
        return f"{design}, palette={self.palette}, init={self.init}, tile {h}x{w}{noise}"
