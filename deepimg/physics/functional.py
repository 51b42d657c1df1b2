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
