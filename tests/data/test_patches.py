"""Patches of large images: whole images held out, seeded crops, 16-bit precision, HDR scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepimg.data.datamodule import hdr_gains
from deepimg.data.patches import SKIMAGE_COLOUR, SKIMAGE_GRAY, Patches
from deepimg.errors import UserError

SMALL = {"patch": 16, "train_patches": 60, "val_patches": 10, "test_patches": 20}


def split_names(data: Patches, split: str) -> set[str]:
    labels = getattr(data, split).labels
    return {data.class_names[int(i)] for i in labels.unique()}


@pytest.mark.parametrize("channels", [1, 3])
def test_no_validation_or_test_crop_comes_from_a_training_image(channels: int) -> None:
    data = Patches(channels=channels, **SMALL)
    data.setup()
    train, val, test = (split_names(data, s) for s in ("train", "val", "test"))
    assert not (train & test) and not (train & val) and not (val & test)
    assert test == set(SKIMAGE_COLOUR["test"] + (SKIMAGE_GRAY["test"] if channels == 1 else []))
    assert data.in_shape == (channels, 16, 16)
    assert (len(data.train), len(data.val), len(data.test)) == (60, 10, 20)


def test_crops_are_the_same_on_every_run_and_change_with_the_seed() -> None:
    first, second, other = Patches(**SMALL), Patches(**SMALL), Patches(split_seed=1, **SMALL)
    for data in (first, second, other):
        data.setup()
    assert torch.equal(first.test.images, second.test.images)
    assert torch.equal(first.train.images, second.train.images)
    assert not torch.equal(first.test.images, other.test.images)


def write_16bit(folder: Path, n: int, size: int = 40) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = []
    for i in range(n):
        array = rng.integers(0, 65536, size=(size, size), dtype=np.uint16)
        Image.fromarray(array).save(folder / f"image{i}.png")
        arrays.append(array)
    return arrays


def test_sixteen_bit_sources_keep_their_precision(tmp_path: Path) -> None:
    arrays = write_16bit(tmp_path / "big", 5)
    data = Patches(root=str(tmp_path / "big"), channels=1, **SMALL)
    data.setup()
    assert data.bit_depth == 16 and data.train.images.dtype == torch.uint16
    crop, label = data.train.images[0, 0].numpy(), int(data.train.labels[0])
    source = arrays[int(data.class_names[label].removeprefix("image"))]
    windows = np.lib.stride_tricks.sliding_window_view(source, crop.shape)
    assert (windows == crop).all(axis=(2, 3)).any()  # the crop, value for value, in its source
    assert len(np.unique(data.train.images.numpy() % 257)) > 1  # not 8-bit values scaled up


def test_too_few_images_or_too_small_ones_are_one_line_errors(tmp_path: Path) -> None:
    write_16bit(tmp_path / "two", 2)
    with pytest.raises(UserError, match="holds 2 images.*at least 3"):
        Patches(root=str(tmp_path / "two"), **SMALL).setup()
    write_16bit(tmp_path / "tiny", 3, size=8)
    with pytest.raises(UserError, match="smaller than patch=16"):
        Patches(root=str(tmp_path / "tiny"), **SMALL).setup()


def test_hdr_scenes_are_scaled_by_seeded_log_uniform_factors() -> None:
    gains = hdr_gains(20_000, 16.0, seed=0)
    assert torch.equal(gains, hdr_gains(20_000, 16.0, seed=0))
    assert gains.min() >= 1 and gains.max() <= 16
    logs = gains.log2().flatten()  # log-uniform: log2 uniform in [0, 4]
    assert (
        abs(float(logs.mean()) - 2) < 0.05 and abs(float((logs < 1).float().mean()) - 0.25) < 0.02
    )
    data = Patches(dynamic_range=16.0, **SMALL)
    scenes, _ = data.scenes("test", 20)
    assert scenes.max() > 1 and torch.equal(scenes, data.scenes("test", 20)[0])


def saturated_shares(data: Patches, split: str) -> torch.Tensor:
    data.setup()
    scenes, _ = data.scenes(split, len(getattr(data, split)))
    return (scenes > 1).float().flatten(1).mean(dim=1)


def test_every_hdr_crop_keeps_to_max_saturated_and_is_seeded() -> None:
    data = Patches(dynamic_range=64.0, max_saturated=0.1, **SMALL)
    unbounded = Patches(dynamic_range=64.0, **SMALL)
    for split in ("train", "val", "test"):
        shares = saturated_shares(data, split)
        assert len(shares) == SMALL[f"{split}_patches"] and (shares <= 0.1).all()
    assert (saturated_shares(unbounded, "train") > 0.1).any()  # the bound has work to do
    scenes, _ = data.scenes("train", 60)
    assert scenes.max() > 1  # still HDR: some pixels above full scale
    again = Patches(dynamic_range=64.0, max_saturated=0.1, **SMALL)
    assert torch.equal(again.scenes("test", 20)[0], data.scenes("test", 20)[0])
    other = Patches(dynamic_range=64.0, max_saturated=0.1, split_seed=1, **SMALL)
    assert not torch.equal(other.scenes("test", 20)[0], data.scenes("test", 20)[0])


def test_a_zero_share_allows_no_pixel_above_full_scale_and_train_size_keeps_the_factors() -> None:
    data = Patches(dynamic_range=16.0, max_saturated=0.0, train_size=30, **SMALL)
    for split in ("train", "val", "test"):
        assert (saturated_shares(data, split) == 0).all()
    assert len(data.train) == 30


def test_without_max_saturated_the_crops_and_factors_are_as_before() -> None:
    default, explicit = (
        Patches(dynamic_range=16.0, **SMALL),
        Patches(dynamic_range=16.0, max_saturated=None, **SMALL),
    )
    ldr = Patches(max_saturated=0.1, **SMALL)  # no HDR factor: nothing to bound
    for data in (default, explicit, ldr):
        data.setup()
    for split, seed in (("train", 0), ("val", 1), ("test", 2)):
        images = getattr(default, split).images
        assert torch.equal(getattr(explicit, split).images, images)
        assert torch.equal(getattr(ldr, split).images, images)
        assert torch.equal(getattr(default, split).gains, hdr_gains(len(images), 16.0, seed))
