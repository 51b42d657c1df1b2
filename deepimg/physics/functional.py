"""Stateless physics operations, shared by the layer modules (as torchvision's functional ops)."""

from __future__ import annotations

import zlib

import torch


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
