"""Depth from defocus by local sharpness: the classical baseline of ``task=depth``.

A region far from the focal plane is blurred, and blur removes fine detail before coarse:
the feature at a pixel is the log of the ratio of fine detail (the image less its 3 x 3
mean) to coarse detail (less its ``COARSE`` x ``COARSE`` mean), their energies averaged over
a ``WINDOW`` x ``WINDOW`` window, so the scene's own contrast cancels. A table fitted on
training measurements (``fit``) maps it, by quantile bins, to the mean true depth of its
bin. It falls steadily with defocus up to about 0.17 waves RMS (measured on noise and on
the camera photograph, airy_radius 2); beyond, the defocused PSF's rings bring fine detail
back and sharpness no longer orders depth. A lens focused mid-range blurs near and far
alike, so sharpness tells the distance from focus, not its side.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FINE, COARSE, WINDOW = 3, 9, 7  # pixels: the two detail scales and the energy window
BINS = 16  # quantile bins of the sharpness feature


def local_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.avg_pool2d(F.pad(x, [size // 2] * 4, mode="replicate"), size, stride=1)


def sharpness(measurement: torch.Tensor) -> torch.Tensor:
    """The feature ``(B, 1, H, W)`` of a measurement ``(B, C, H, W)``: high where sharp."""
    gray = measurement.float().mean(dim=1, keepdim=True)
    fine = local_mean((gray - local_mean(gray, FINE)) ** 2, WINDOW)
    coarse = local_mean((gray - local_mean(gray, COARSE)) ** 2, WINDOW)
    return torch.log(fine + 1e-8) - torch.log(coarse + 1e-8)


class SharpnessTable:
    """Sharpness -> depth, by the mean true depth in each quantile bin of the feature."""

    def __init__(self) -> None:
        self.edges = torch.zeros(0)
        self.depths = torch.zeros(1)

    def fit(self, feature: torch.Tensor, depth: torch.Tensor) -> None:
        f, d = feature.flatten().double(), depth.flatten().double()
        self.edges = torch.quantile(f, torch.linspace(0, 1, BINS + 1, dtype=f.dtype)[1:-1])
        bins = torch.bucketize(f, self.edges)
        total = torch.zeros(BINS, dtype=d.dtype).index_add_(0, bins, d)
        count = torch.zeros(BINS, dtype=d.dtype).index_add_(0, bins, torch.ones_like(d))
        self.depths = torch.where(count > 0, total / count.clamp(min=1), d.mean()).float()

    def __call__(self, feature: torch.Tensor) -> torch.Tensor:
        bins = torch.bucketize(feature.float(), self.edges.to(feature.device).float())
        return self.depths.to(feature.device)[bins]
