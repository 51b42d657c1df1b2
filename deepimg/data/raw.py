"""What a data source loads: its images as stored integers, labels, class names and splits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class RawData:
    """A source's images ``(N, C, H, W)`` of an integer dtype, labels ``(N,)`` and class names.

    Sources without an official test (or validation) split leave it ``None``; the data
    module then holds out a stratified, seeded share of train.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    class_names: list[str]
    test_images: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    val_images: torch.Tensor | None = None
    val_labels: torch.Tensor | None = None
    max_value: int = 255  # full scale of the stored integers: 255 for 8-bit, 65535 for 16-bit
    # Segmentation sources: a class map (N, H, W) per image (0 = background).
    train_masks: torch.Tensor | None = None
    val_masks: torch.Tensor | None = None
    test_masks: torch.Tensor | None = None
    # HDR scenes: each image's factor (N,) when the source chose it with the image (patches
    # with max_saturated); None: the data module draws them (``hdr_gains``).
    train_gains: torch.Tensor | None = None
    val_gains: torch.Tensor | None = None
    test_gains: torch.Tensor | None = None

    @property
    def bit_depth(self) -> int:
        """Native bits per pixel: the fewest bits that hold ``max_value``."""
        return math.ceil(math.log2(self.max_value + 1))
