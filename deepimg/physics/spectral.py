"""Spectral sampling: which mixes of the scene's channels (bands) should a camera measure?"""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from deepimg.config.constraints import Range
from deepimg.physics.base import PhysicalLayer, checked_arguments
from deepimg.physics.constraints import Simplex
from deepimg.physics.parameter import PhysicalParameter


def mix_channels(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``y_k = sum_c weights[k, c] x_c``, pixel by pixel: ``(B, C, H, W) -> (B, K, H, W)``."""
    return torch.einsum("kc,bchw->bkhw", weights, x).contiguous()  # einsum may permute


def unmix_channels(y: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The least-squares inverse of ``mix_channels``: ``x = pinv(weights) y``, ``(B, K, H, W)
    -> (B, C, H, W)``; exact when the K mixes are independent and K >= C, the minimum-norm
    solution otherwise."""
    return torch.einsum("ck,bkhw->bchw", torch.linalg.pinv(weights), y).contiguous()


def band_binning(channels_out: int, channels_in: int) -> torch.Tensor:
    """``(K, C)`` weights that bin C equal bands into K equal, wider (or narrower) ones.

    The input bands tile the spectrum [0, 1) as ``[c/C, (c+1)/C)``, the output bands as
    ``[k/K, (k+1)/K)``; ``W[k, c]`` is the share of output band k that input band c covers,
    so each row sums to 1. K = C is the identity, K = 1 the mean (a panchromatic camera),
    and K = C/2 averages neighbouring pairs: the spectral analogue of pixel binning.
    """
    k = torch.arange(channels_out, dtype=torch.float64)[:, None]
    c = torch.arange(channels_in, dtype=torch.float64)[None, :]
    low = torch.maximum(k / channels_out, c / channels_in)
    high = torch.minimum((k + 1) / channels_out, (c + 1) / channels_in)
    return ((high - low).clamp_min(0) * channels_out).float()


def weights_from_config(rows: list[list[float]], channels_in: int) -> torch.Tensor:
    """A user's ``(K, C)`` matrix, checked (non-negative, C columns) and rows scaled to sum 1."""
    weights = torch.tensor(rows, dtype=torch.float32)
    if weights.ndim != 2 or weights.shape[1] != channels_in:
        raise ValueError(
            f"spectral_weights must be a list of rows of {channels_in} numbers (one per "
            f"channel of the dataset), got shape {tuple(weights.shape)}"
        )
    if (weights < 0).any() or (weights.sum(dim=1) <= 0).any():
        raise ValueError(
            "spectral_weights must be non-negative with at least one positive entry a row "
            "(a filter cannot transmit negative light)"
        )
    return weights / weights.sum(dim=1, keepdim=True)


class Spectral(PhysicalLayer):
    """K spectral channels, each a non-negative, normalised mix of the scene's C channels.

    Forward model, for a scene with C channels ``x_c`` (relative irradiance in band c,
    unitless) and a filter matrix ``W`` (K x C, unitless transmittances):

        y_k(i, j) = sum_c W[k, c] x_c(i, j),    W[k, c] >= 0,  sum_c W[k, c] = 1

    Each row is a filter's spectral response normalised to its full scale: a scene that is 1
    in every band reads 1 in every channel, so ``y`` stays in [0, 1] and channels differ by
    which bands they weigh, not by gain. ``spectral_channels`` is K (null: K = C, or the
    rows of ``spectral_weights``). The fixed filters are ``spectral_weights`` when given
    (rows rescaled to sum 1), otherwise the binning of C bands into K (``band_binning``:
    the identity when K = C). ``learnable=true`` trains the filters from there, as
    ``W = softmax(logits)`` row by row (a ``Simplex`` each), so every optimizer step leaves
    valid filters; ``init``: ``classical``, those filters (the band binning, or
    ``spectral_weights``), learned or fixed. ``self.weights()`` is ``W``, ``(K, C)``.
    On a one-channel dataset every channel is a copy of the scene.
    """

    @checked_arguments
    def __init__(
        self,
        in_shape: tuple[int, int, int],
        spectral_channels: Annotated[int, Range(1, 256)] | None = None,
        spectral_weights: list[list[float]] | None = None,
        init: Literal["classical"] = "classical",
        learnable: bool = False,
    ) -> None:
        super().__init__(in_shape)
        channels_in = self.in_shape[0]
        if spectral_weights is not None:
            weights = weights_from_config(spectral_weights, channels_in)
            if spectral_channels not in (None, len(weights)):
                raise ValueError(
                    f"spectral_channels={spectral_channels} but spectral_weights has "
                    f"{len(weights)} rows; set one of them, or make them agree"
                )
        else:
            weights = band_binning(spectral_channels or channels_in, channels_in)
        # The 1% floor leaks a little of every band into every learned filter, so bands
        # outside a filter's initial pass-band still get a gradient.
        self.weights = PhysicalParameter(weights, Simplex(dims=1, floor=0.01), learnable)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (self.weights().shape[0], *self.in_shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mix_channels(x, self.weights())

    def to_scene(self, y: torch.Tensor) -> torch.Tensor:
        """The least-squares (minimum-norm) unmixing ``x = pinv(W) y``, pixel by pixel."""
        return unmix_channels(y, self.weights())

    def maps(self) -> dict[str, torch.Tensor]:
        return {
            "spectral_weights": self.weights.design().detach()
        }  # rows: channels k; columns: bands c

    def extra_repr(self) -> str:
        k, c = self.weights().shape
        return f"bands={c}, spectral_channels={k}, learnable={self.learnable}"
