"""Scene augmentation with albumentations: variation of the scene, before the physics."""

from __future__ import annotations

import os
from typing import Annotated

import numpy as np

from deepimg.config.constraints import Range

# albumentations otherwise checks online for updates at import.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402

Probability = Annotated[float, Range(0, 1)]


class Augmentation:
    """Random flips, a small affine warp, brightness/contrast and noise on one scene.

    Works on one ``(H, W, C)`` uint8 image at a time (albumentations' convention) and is
    applied to training scenes only; the physical layer then sees the varied scene.
    """

    def __init__(
        self,
        hflip: Probability = 0.5,
        vflip: Probability = 0.0,
        affine: Probability = 0.5,
        shift: Annotated[float, Range(0, 0.5)] = 0.06,
        scale: Annotated[float, Range(0, 0.5)] = 0.1,
        rotate_deg: Annotated[float, Range(0, 180)] = 10.0,
        brightness_contrast: Probability = 0.3,
        brightness: Annotated[float, Range(0, 1)] = 0.1,
        contrast: Annotated[float, Range(0, 1)] = 0.1,
        noise: Probability = 0.2,
        noise_std: Annotated[float, Range(0, 1)] = 0.03,
    ) -> None:
        self.transform = A.Compose(
            [
                A.HorizontalFlip(p=hflip),
                A.VerticalFlip(p=vflip),
                A.Affine(
                    translate_percent=(-shift, shift),
                    scale=(1 - scale, 1 + scale),
                    rotate=(-rotate_deg, rotate_deg),
                    p=affine,
                ),
                A.RandomBrightnessContrast(
                    brightness_limit=brightness, contrast_limit=contrast, p=brightness_contrast
                ),
                A.GaussNoise(std_range=(0.0, noise_std), p=noise),
            ]
        )

    def __call__(self, image: np.ndarray) -> np.ndarray:
        out = self.transform(image=image)["image"]
        return out.reshape(image.shape)  # cv2 drops a single channel axis


class Preset:
    """An albumentations pipeline built for the image's size at its first call (crops need
    it), then applied to one ``(H, W, C)`` uint8 scene at a time."""

    def __init__(self) -> None:
        self.transform: A.Compose | None = None

    def build(self, height: int, width: int, channels: int) -> A.Compose:
        raise NotImplementedError

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self.transform is None:
            self.transform = self.build(*image.shape[:2], image.shape[2] if image.ndim == 3 else 1)
        return self.transform(image=image)["image"].reshape(image.shape)


class Strong(Preset):
    """Random resized crops (keeping ``crop_scale`` or more of the area), rotations up to
    ``rotate_deg``, an elastic warp and coarse dropout of a few boxes (filled with zeros)."""

    def __init__(
        self,
        crop_scale: Annotated[float, Range(0.05, 1)] = 0.6,
        rotate_deg: Annotated[float, Range(0, 180)] = 20.0,
        elastic: Probability = 0.3,
        dropout: Probability = 0.5,
        dropout_holes: Annotated[int, Range(1)] = 2,
        dropout_size: Annotated[float, Range(0.01, 1)] = 0.2,
    ) -> None:
        super().__init__()
        self.crop_scale, self.rotate_deg, self.elastic = crop_scale, rotate_deg, elastic
        self.dropout, self.holes, self.size = dropout, dropout_holes, dropout_size

    def build(self, height: int, width: int, channels: int) -> A.Compose:
        # Box sides in whole pixels, from half the largest to the largest, and at least one
        # pixel: fractions of a small scene (8x8 digits) would round to empty boxes.
        rows, cols = ((max(1, round(self.size * n / 2)), max(1, round(self.size * n)))
                      for n in (height, width))  # fmt: skip
        return A.Compose([
            A.RandomResizedCrop(size=(height, width), scale=(self.crop_scale, 1.0)),
            A.Rotate(limit=self.rotate_deg, p=0.5),
            A.ElasticTransform(p=self.elastic),
            A.CoarseDropout(num_holes_range=(1, self.holes), hole_height_range=rows,
                            hole_width_range=cols, fill=0, p=self.dropout),
        ])  # fmt: skip


class Microscopy(Preset):
    """For cells and tissue, which have no up or down: 90-degree rotations and flips, a small
    blur, small brightness/contrast (and, in colour, hue and saturation) jitter."""

    def __init__(
        self,
        blur: Probability = 0.2,
        blur_sigma: Annotated[float, Range(0.1, 5)] = 1.0,
        jitter: Probability = 0.5,
        jitter_strength: Annotated[float, Range(0, 1)] = 0.1,
    ) -> None:
        super().__init__()
        self.blur, self.sigma = blur, blur_sigma
        self.jitter, self.strength = jitter, jitter_strength

    def build(self, height: int, width: int, channels: int) -> A.Compose:
        s = self.strength
        jitter = (
            A.ColorJitter(brightness=s, contrast=s, saturation=s, hue=s / 4, p=self.jitter)
            if channels == 3
            else A.RandomBrightnessContrast(brightness_limit=s, contrast_limit=s, p=self.jitter)
        )
        return A.Compose([
            A.RandomRotate90(), A.HorizontalFlip(), A.VerticalFlip(),
            A.GaussianBlur(sigma_limit=(0.1, self.sigma), p=self.blur), jitter,
        ])  # fmt: skip
