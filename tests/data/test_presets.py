"""The augmentation presets: what they may do to a scene, and only to training scenes."""

from __future__ import annotations

import numpy as np
import torch

from deepimg.config import compose as config
from deepimg.data.augment import Microscopy, Strong
from deepimg.training.build import build_datamodule


def dihedral(image: np.ndarray) -> list[np.ndarray]:
    """The 8 rotations and mirror images of a square image."""
    out = []
    for k in range(4):
        r = np.rot90(image, k)
        out += [r, r[:, ::-1]]
    return out


def test_microscopy_without_blur_or_jitter_only_rotates_and_mirrors() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (12, 12, 1), dtype=np.uint8)
    preset = Microscopy(blur=0.0, jitter=0.0)
    seen = set()
    for _ in range(60):
        out = preset(image)
        matches = [i for i, d in enumerate(dihedral(image)) if np.array_equal(out, d)]
        assert matches, "not a rotation or mirror image of the scene"
        seen.add(matches[0])
    assert len(seen) >= 6  # it does reach most of the eight


def test_strong_dropout_blanks_boxes_and_crops_keep_the_size() -> None:
    image = np.full((16, 16, 1), 200, dtype=np.uint8)
    only_dropout = Strong(crop_scale=1.0, rotate_deg=0.0, elastic=0.0, dropout=1.0)
    only_dropout_small = Strong(crop_scale=1.0, rotate_deg=0.0, elastic=0.0, dropout=1.0)
    for _ in range(50):  # every call blanks at least one box, never the whole scene
        out = only_dropout(image)
        assert out.shape == image.shape and (out == 0).any() and (out == 200).any()
    tiny = np.full((8, 8, 1), 200, dtype=np.uint8)  # boxes of whole pixels, even on 8x8
    assert all((only_dropout_small(tiny) == 0).any() for _ in range(50))
    gradient = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))[..., None]
    cropped = Strong(crop_scale=0.2, rotate_deg=0.0, elastic=0.0, dropout=0.0)
    assert any(not np.array_equal(cropped(gradient), gradient) for _ in range(5))


def test_presets_vary_training_scenes_only() -> None:
    for preset in ("strong", "microscopy"):
        plain = build_datamodule(config.compose(["dataset=digits"]))
        varied = build_datamodule(config.compose(["dataset=digits", f"augmentation={preset}"]))
        for data in (plain, varied):
            data.setup()
        idx = list(range(32))
        assert not torch.equal(varied.train[idx][0], plain.train[idx][0]), preset
        assert torch.equal(varied.test[idx][0], plain.test[idx][0]), preset
