"""Stateless physics operations, shared by the layer modules (as torchvision's functional ops)."""

from __future__ import annotations

import zlib

import torch
import torch.nn.functional as F


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round to the nearest integer, with the identity as gradient (straight-through estimator).

    Rounding has zero gradient almost everywhere; passing the gradient straight through is
    what lets a network (and any learnable optics upstream) train through an ADC.
    """
    return x + (torch.round(x) - x).detach()


def straight_through(hard: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """The value of ``hard`` with the gradient of ``soft`` (a straight-through estimator).

    ``soft - soft.detach()`` is exactly zero, so the value is ``hard`` to the last bit.
    """
    return hard + (soft - soft.detach())


def clip_ste(x: torch.Tensor) -> torch.Tensor:
    """``clip(x, 0, 1)`` in the forward pass, the identity as gradient (straight-through)."""
    return straight_through(x.clamp(0.0, 1.0).detach(), x)


def scale_gradient(t: torch.Tensor, factor: float) -> torch.Tensor:
    """``t`` unchanged in the forward pass, its gradient multiplied by ``factor`` in the backward.

    Written as ``t0 + factor * (t - t0)`` with ``t0 = t.detach()``: ``t - t0`` is exactly zero,
    so the value is ``t`` to the last bit while the gradient picks up the factor.
    """
    frozen = t.detach()
    return frozen + factor * (t - frozen)


def quantize(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Uniform ``bits``-bit ADC on signals in [0, 1], returned in the same units.

    ``y = round(clip(x, 0, 1) * (2**bits - 1)) / (2**bits - 1)``: 2**bits levels, the
    error is at most half a step for inputs inside [0, 1]. The rounding uses a
    straight-through gradient; the clip keeps its true gradient (zero where saturated).
    """
    top = float(2**bits - 1)
    return round_ste(x.clamp(0.0, 1.0) * top) / top


def in_units_of_spread(x: torch.Tensor) -> torch.Tensor:
    """``x / std(x)``, the std taken without gradient.

    Relaxed discrete choices (a sigmoid mask, a softmax colour filter) multiply their scores
    by a temperature; in units of the scores' spread that temperature says how hard the
    choice is, however far training has moved the scores (they start ~0.01 apart).
    """
    return x / x.detach().std().clamp_min(1e-12)


# The logit (score) gap by which a relaxed discrete design starts at a classical one: the
# hard design (argmax, top-K) is the classical one, and the relaxation, which reads the
# logits in units of their spread, puts about three quarters of each pixel's weight on it
# at temperature 1, so training can still move it (Chakrabarti 2016 starts a few units apart).
START_MARGIN = 2.0


def margin_logits(design: torch.Tensor, margin: float = START_MARGIN) -> torch.Tensor:
    """Logits (scores) whose hard choice is the binary ``design`` (a one-hot CFA, a K-pixel
    mask): ``margin`` where the design is 1, 0 elsewhere."""
    return margin * design.float()


def batch_generator(x: torch.Tensor, seed: int) -> torch.Generator:
    """A random generator seeded by ``seed`` and the batch's content.

    Evaluation noise drawn from it is the same for the same images in every run, whatever
    the batch order, so runs that differ only in their physics compare on equal terms.
    """
    digest = zlib.crc32(x.detach().to("cpu", torch.float32).numpy().tobytes())
    return torch.Generator(device=x.device).manual_seed((seed * 1_000_003 + digest) % 2**63)


def normalized_convolution(
    values: torch.Tensor, weights: torch.Tensor, sizes: tuple[int, ...] = (3, 7, 15, 31)
) -> torch.Tensor:
    """Fill in an image known only where ``weights > 0`` (Knutsson and Westin's normalised
    convolution), channel by channel; ``values`` is ``(B, C, H, W)`` and ``weights``
    ``(1 or B, C, H, W)``, and a one-channel side is repeated to the other's channels:

        x(p) = (k * (w v))(p) / (k * w)(p)

    with the tent kernel ``k`` of the first size in ``sizes`` that finds samples near ``p``.
    Size 3 is ``[1, 2, 1]^T [1, 2, 1]``, with which this is bilinear interpolation between
    samples one pixel apart (bilinear demosaicking of a Bayer mosaic); the larger sizes
    only fill the holes that the smaller ones leave. Zero padding is exact here: outside the
    image the weight is zero too. Differentiable in ``values`` and ``weights``.
    """
    c = max(values.shape[1], weights.shape[1])
    values = values.expand(-1, c, -1, -1)
    weights = weights.expand(-1, c, -1, -1)  # its own batch size: often 1, one design
    h, w = values.shape[-2:]
    filled = None
    for size in reversed(sizes):  # the largest first, so each smaller one overrides it
        size = min(size, 2 * max(h, w) - 1)
        num, den = tent_blur(values * weights, size), tent_blur(weights, size)
        found = den > 1e-6
        level = num / den.clamp_min(1e-6)
        filled = level if filled is None else torch.where(found, level, filled)
    return filled


def tent_blur(x: torch.Tensor, size: int) -> torch.Tensor:
    """``x`` convolved with the ``size`` tent kernel, channel by channel, zero-padded: as two
    1-D passes, since the kernel is separable."""
    r, c = size // 2, x.shape[1]
    t = 1 - torch.arange(-r, r + 1, device=x.device, dtype=x.dtype).abs() / (r + 1)
    x = F.conv2d(x, t.view(1, 1, 1, size).expand(c, 1, 1, size), padding=(0, r), groups=c)
    return F.conv2d(x, t.view(1, 1, size, 1).expand(c, 1, size, 1), padding=(r, 0), groups=c)


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resampling to ``size`` (pixel centres aligned), or ``x`` when it has that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def repeat_tile(tile: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Repeat a ``(..., h, w)`` tile (a CFA, an exposure pattern) across a sensor of ``size``
    pixels, cropping the last repeat."""
    h, w = tile.shape[-2:]
    reps = (-(-size[0] // h), -(-size[1] // w))
    return tile.repeat(*[1] * (tile.ndim - 2), *reps)[..., : size[0], : size[1]]


# Bisection halves the threshold's bracket each step; 50 steps take it below float32 resolution.
BISECTION_STEPS = 50


def top_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The hard mask: ones at the K highest scores (exactly K, ties broken by ``topk``)."""
    mask = torch.zeros(scores.numel(), device=scores.device, dtype=scores.dtype)
    mask[scores.detach().flatten().topk(k).indices] = 1
    return mask.view_as(scores)


def budget_threshold(scores: torch.Tensor, k: int, temperature: float) -> torch.Tensor:
    """The threshold ``t`` where ``sum sigmoid(temperature * (scores - t)) = k`` (bisection).

    The sum falls monotonically as ``t`` rises, from ~N far below the scores to ~0 far above.
    """
    s = scores.detach()
    margin = 30.0 / temperature  # sigmoid(30) = 1 - 1e-13: the bracket holds the root
    low, high = s.min() - margin, s.max() + margin
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        too_bright = torch.sigmoid(temperature * (s - middle)).sum() > k
        low = torch.where(too_bright, middle, low)
        high = torch.where(too_bright, high, middle)
    return (low + high) / 2


def soft_mask(scores: torch.Tensor, k: int, temperature: float) -> torch.Tensor:
    """A relaxed mask in [0, 1] that lets through exactly K pixels' worth of light.

    ``m = sigmoid(temperature * (scores - t) / std(scores))`` with ``t`` solving ``sum m = K``. The
    threshold moves with the scores: by the implicit function theorem
    ``dt/ds_i = m'_i / sum_j m'_j`` (``m'`` the sigmoid's slope), so the gradient moves light
    between pixels and never changes the budget. ``t`` is written so its value is the
    bisection's and its gradient is that derivative.
    """
    scores = in_units_of_spread(scores)
    t0 = budget_threshold(scores, k, temperature)
    z = temperature * (scores.detach() - t0)
    slope = torch.sigmoid(z) * torch.sigmoid(-z)
    t = t0 + (slope * (scores - scores.detach())).sum() / slope.sum().clamp_min(1e-30)
    return torch.sigmoid(temperature * (scores - t))


def interval_overlaps(edges: torch.Tensor, length: int) -> torch.Tensor:
    """How much of each scene pixel ``[i, i + 1]`` (``i < length``) each sensor pixel covers.

    ``edges`` ``(..., P + 1)`` are the P sensor pixels' boundaries along one axis, in scene
    pixels and increasing; the result ``(..., P, length)`` is the length of the overlap of
    ``[edges[p], edges[p + 1]]`` with ``[i, i + 1]``. A pixel's reading is the integral of a
    scene that is constant over each of its pixels, so it is this matrix times the scene,
    divided by the pixel's width. Piecewise linear in the edges, so differentiable in them:
    moving an edge moves light between two sensor pixels. Edges outside ``[0, length]``
    cover nothing there (a dark border).
    """
    i = torch.arange(length, device=edges.device, dtype=edges.dtype)
    low = torch.maximum(edges[..., :-1, None], i)
    high = torch.minimum(edges[..., 1:, None], i + 1)
    return (high - low).clamp_min(0)
