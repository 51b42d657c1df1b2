"""Sampling with few sensors: which K of the scene's pixels does the task need?"""

from __future__ import annotations

import logging
import math
from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import TopK
from deepimg.physics.functional import margin_logits, normalized_convolution, soft_mask
from deepimg.physics.parameter import PhysicalParameter

log = logging.getLogger(__name__)


def active_count(shape: tuple[int, int], active_pixels: int | None, active_fraction: float) -> int:
    """K, the number of active pixels, from a count (which wins when set) or a fraction."""
    h, w = shape
    n = h * w
    if active_pixels is not None:
        if isinstance(active_pixels, bool) or not isinstance(active_pixels, int):
            raise ValueError(f"active_pixels must be an integer, got {active_pixels!r}")
        if not 1 <= active_pixels <= n:
            raise ValueError(
                f"active_pixels={active_pixels} does not fit a {h}x{w} scene: choose 1..{n}"
            )
        return active_pixels
    k = round(active_fraction * n)
    if not 1 <= k <= n:
        raise ValueError(
            f"active_fraction={active_fraction:g} keeps {k} of the {n} pixels of a {h}x{w} "
            f"scene: choose a fraction in {1 / n:.3g}..1, or set active_pixels"
        )
    return k


def random_mask(shape: tuple[int, int], k: int, seed: int) -> torch.Tensor:
    """K pixels drawn uniformly without replacement, the same for the same ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.zeros(shape[0] * shape[1])
    mask[torch.randperm(mask.numel(), generator=generator)[:k]] = 1
    return mask.view(shape)


def grid_mask(shape: tuple[int, int], k: int) -> torch.Tensor:
    """K pixels on a regular lattice, as evenly spread as K allows.

    A lattice of ``rows x cols >= K`` points, as square as the scene's aspect allows, sits
    at the centres of equal cells. When K is not ``rows * cols`` (K = 10 has no 10-point
    square lattice) the surplus is trimmed: K of the lattice points are kept at evenly
    spaced positions in raster order, so the mask has exactly K ones and no large hole.
    """
    h, w = shape
    rows = min(h, math.ceil(math.sqrt(k * h / w)))
    cols = min(w, math.ceil(k / rows))
    rows = min(h, math.ceil(k / cols))  # the fewest rows that still give k points
    # Cell centres; a spacing of at least one pixel keeps the points distinct.
    ys = ((torch.arange(rows) + 0.5) * h / rows).long()
    xs = ((torch.arange(cols) + 0.5) * w / cols).long()
    lattice = (ys[:, None] * w + xs[None, :]).flatten()
    keep = torch.arange(k) * len(lattice) // k  # distinct, since len(lattice) >= k
    mask = torch.zeros(h * w)
    mask[lattice[keep]] = 1
    return mask.view(shape)


class Mask(PhysicalLayer):
    """A sensor with only K active pixels: the others record nothing.

    Forward model, on relative irradiance ``x`` (unitless) with a binary mask ``m``:

        y_c(i, j) = m(i, j) x_c(i, j),    m in {0, 1},  sum_{i,j} m(i, j) = K

    the same mask for every channel, output the scene's shape (inactive pixels read 0).
    K is ``active_pixels``, or ``active_fraction`` of the scene's pixels when that is null.
    ``layout``: ``random`` (K pixels drawn with ``mask_seed``) or ``grid`` (a regular lattice,
    see ``grid_mask``). ``learnable=true`` learns the mask (``layout=learned`` is the old
    spelling): a ``TopK`` parameter with one score ``s(i, j)`` per pixel; its hard design is
    the top K scores. ``init`` is where it starts, and the design of the fixed layer built
    from the same keys:

    - ``classical``: the ``layout`` mask; a learned mask's scores start 2 apart
      (``functional.START_MARGIN``: 2 on the layout's pixels, 0 elsewhere), so its top K are
      the layout exactly, and training can still move them;
    - ``uniform``: nearly equal scores (seeded jitter of 0.01 by ``mask_seed``), so the soft
      mask starts as a uniform K/N everywhere and the design owes nothing to ``layout`` (its
      hard design is the top K of the jitter).

    Training relaxes it by ``relaxation``:

    - ``topk``: the forward pass uses the hard top-K mask; the backward pass uses the
      gradient of the soft mask ``sigmoid((s - t) / std(s))`` (a straight-through estimator);
    - ``sigmoid``: the forward pass uses the soft mask ``sigmoid(T (s - t) / std(s))``, the temperature
      ``T`` rising from 1 to ``mask_temperature`` over training (geometrically), so the soft
      mask hardens into the top-K one.

    In both, ``t`` is chosen so the soft mask sums to exactly K (its light budget), and the
    gradient keeps that sum. Evaluation always uses the hard top-K mask.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        active_pixels: Annotated[int, Range(1, None)] | None = None,
        active_fraction: Annotated[float, Range(0, 1)] = 0.25,
        layout: Literal["random", "grid", "learned"] = "random",
        init: Literal["classical", "uniform"] = "classical",
        relaxation: Literal["topk", "sigmoid"] = "topk",
        mask_temperature: Annotated[float, Range(1, 1e6)] = 100.0,
        mask_seed: int = 0,
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        shape = self.in_shape[1:]
        self.k = active_count(shape, active_pixels, active_fraction)
        if layout == "learned":
            log.warning("layout=learned is deprecated: write learnable=true (the same mask)")
            layout, learnable = "random", True
        self.layout, self.relaxation, self.init = layout, relaxation, init
        budget = TopK(self.k, relaxation, mask_temperature)
        if init == "uniform":
            # Nearly equal scores: the soft mask starts as a uniform K/N everywhere, and the
            # seeded jitter only breaks ties for the initial hard mask.
            generator = torch.Generator().manual_seed(mask_seed)
            scores = 0.01 * torch.randn(shape, generator=generator)
        else:
            layout_mask = (
                grid_mask(shape, self.k)
                if layout == "grid"
                else random_mask(shape, self.k, mask_seed)
            )
            scores = margin_logits(layout_mask)
        if learnable:
            self.mask = PhysicalParameter(None, budget, learnable=True, latent=scores)
        else:
            self.mask = PhysicalParameter(budget.design(scores), budget)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask()

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """Inpainting by interpolation: every pixel from the active pixels near it, weighted
        by distance (normalised convolution with growing tent kernels)."""
        mask = self.mask()
        return normalized_convolution(y, mask.expand(1, y.shape[1], *mask.shape[-2:]))

    def maps(self) -> dict[str, torch.Tensor]:
        mask = self.mask
        maps = {"mask": mask.design().detach()}
        if mask.learnable:
            scores = mask.latent.detach()
            maps["mask_scores"] = scores
            temperature = mask.temperature if self.relaxation == "sigmoid" else 1.0
            maps["mask_soft"] = soft_mask(scores, self.k, temperature)
        return maps

    def extra_repr(self) -> str:
        h, w = self.in_shape[1:]
        if self.learnable:
            return (
                f"{self.k} of {h}x{w} pixels, learnable, init={self.init}, "
                f"relaxation={self.relaxation}"
            )
        return f"{self.k} of {h}x{w} pixels, layout={self.layout}, init={self.init}"
