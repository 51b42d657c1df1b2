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
