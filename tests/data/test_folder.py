"""Image folders as Kaggle ships them: split folders, PNG, JPEG, 16-bit TIFF and a corrupt file;
and segmentation folders of images and masks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepimg.data.folder import ImageFolder
from deepimg.errors import UserError
from tests.conftest import run_main
from tests.test_cli_errors import assert_one_line_error

CLASSES = ["EOSINOPHIL", "LYMPHOCYTE", "MONOCYTE", "NEUTROPHIL"]


def kaggle_tree(root: Path, per_class: int = 6) -> Path:
    """images/{TRAIN,TEST}/<CLASS>/: RGB PNG and JPEG, 16-bit TIFF, and one corrupt file."""
    rng = np.random.default_rng(0)
    for split in ("TRAIN", "TEST"):
        for c, name in enumerate(CLASSES):
            folder = root / "images" / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                rgb = (rng.random((12, 12, 3)) * 60 + 40 * c).astype(np.uint8)
                Image.fromarray(rgb).save(folder / f"{i}.png" if i % 2 else folder / f"{i}.jpeg")
            deep = (rng.random((12, 12)) * 1000 + 20000 + 4000 * c).astype(
                np.uint16
            )  # needs 16 bits
            Image.fromarray(deep).save(folder / "deep.tif")
            Image.fromarray(deep[::-1].copy()).save(folder / "deep16.png")
    (root / "images" / "TRAIN" / CLASSES[0] / "broken.png").write_bytes(b"\x89PNG not really")
    return root / "images"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEEPIMG_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_kaggle_layout_uses_its_splits_and_classes(tmp_path: Path, cache: Path, caplog) -> None:
    root = kaggle_tree(tmp_path)
    with caplog.at_level(logging.WARNING):
        dm = ImageFolder(root=str(root), channels=3, val_fraction=0.25)
        dm.setup()
    assert dm.class_names == CLASSES and dm.in_shape == (3, 12, 12)
    assert len(dm.test) == 4 * 8  # the TEST folder, as published
    assert len(dm.train) + len(dm.val) == 4 * 8  # the corrupt file skipped
    assert dm.val.labels.bincount().tolist() == [2, 2, 2, 2]  # stratified
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "broken.png" in warnings[0]


def test_sixteen_bit_tiff_keeps_its_precision(tmp_path: Path, cache: Path) -> None:
    root = kaggle_tree(tmp_path)
    dm = ImageFolder(root=str(root), channels=1)
    dm.setup()
    assert dm.bit_depth == 16 and dm.test.images.dtype == torch.uint16
    tiff = np.asarray(Image.open(root / "TEST" / CLASSES[2] / "deep.tif"))
    last = [i for i, y in enumerate(dm.test.labels.tolist()) if y == 2][-1]
    tif, png = dm.test[[last - 1, last]][0][:, 0].numpy()  # files sort: ..., deep.tif, deep16.png
    assert np.allclose(tif, tiff / 65535.0, atol=1e-6)  # every one of the 16 bits survives
    assert np.allclose(png, tiff[::-1] / 65535.0, atol=1e-6)  # 16-bit PNG too
    eight_bit_levels = len(np.unique(np.round(tif * 255)))
    assert len(np.unique(tif)) > 10 * eight_bit_levels  # 8 bits would merge them


def test_resize_and_gray_conversion(tmp_path: Path, cache: Path) -> None:
    dm = ImageFolder(root=str(kaggle_tree(tmp_path)), img_size=8, channels=1)
    dm.setup()
    assert dm.in_shape == (1, 8, 8)


def test_second_load_comes_from_the_cache(tmp_path: Path, cache: Path, caplog) -> None:
    root = kaggle_tree(tmp_path)
    first = ImageFolder(root=str(root), channels=3)
    first.setup()
    assert len(list((cache / "folder").glob("*.pt"))) == 1
    with caplog.at_level(logging.INFO, logger="deepimg.data.folder"):
        second = ImageFolder(root=str(root), channels=3)
        second.setup()
    assert any("from the cache" in r.getMessage() for r in caplog.records)
    assert (
        torch.equal(first.train.images, second.train.images)
        and first.class_names == second.class_names
    )
    ImageFolder(root=str(root), channels=1).setup()  # other settings, another cache entry
    assert len(list((cache / "folder").glob("*.pt"))) == 2


def test_flat_layout_holds_out_a_seeded_test_split(tmp_path: Path, cache: Path) -> None:
    root = kaggle_tree(tmp_path) / "TEST"  # class folders directly under root
    dm = ImageFolder(root=str(root), test_fraction=0.25, val_fraction=0.2)
    dm.setup()
    assert dm.test.labels.bincount().tolist() == [2, 2, 2, 2]
    again = ImageFolder(root=str(root), test_fraction=0.25, val_fraction=0.2, cache=False)
    again.setup()
    assert torch.equal(dm.test.images, again.test.images)


def test_empty_class_folder_and_empty_root_are_errors(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "a" / "CAT").mkdir(parents=True)
    with pytest.raises(UserError, match="holds no images"):
        ImageFolder(root=str(tmp_path / "a")).setup()
    (tmp_path / "b").mkdir()
    with pytest.raises(UserError, match="holds no class folders"):
        ImageFolder(root=str(tmp_path / "b")).setup()


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` pixels and holds no pixel data: a
    decompression bomb's header (decoding it would fail, after allocating the image)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_an_image_that_declares_too_many_pixels_is_never_decoded(tmp_path: Path) -> None:
    from deepimg.data.folder import ImageTooLarge, decode

    bomb = png_header_only(tmp_path / "bomb.png", 12_000, 12_000)
    with pytest.raises(ImageTooLarge, match="12000x12000 pixels, more than dataset.max_pixels"):
        decode(bomb)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(small)
    assert decode(small)[0].shape == (1, 16, 16)
    with pytest.raises(ImageTooLarge, match="max_pixels=100;"):
        decode(small, max_pixels=100)  # the cap is the config's


def test_a_folder_skips_images_above_the_cap_and_names_them(
    tmp_path: Path, cache: Path, caplog
) -> None:
    root = kaggle_tree(tmp_path)
    png_header_only(root / "TRAIN" / CLASSES[1] / "bomb.png", 12_000, 12_000)
    with caplog.at_level(logging.WARNING):
        data = ImageFolder(root=str(root), img_size=12, cache=False)
        data.setup()
    assert "bomb.png' declares 12000x12000 pixels" in caplog.text
    assert len(data.train) + len(data.val) == 4 * 8  # the bomb and the broken file skipped


def test_a_segmentation_folder_skips_an_empty_image_with_a_warning(
    tmp_path: Path, cache: Path, caplog
) -> None:
    for name in ("a", "b", "c", "d", "e"):
        for part in ("images", "masks"):
            (tmp_path / part).mkdir(exist_ok=True)
            values = np.zeros((8, 8), np.uint8)
            values[2:5, 2:5] = 255 if part == "masks" else 200
            Image.fromarray(values).save(tmp_path / part / f"{name}.png")
    (tmp_path / "images" / "e.png").write_bytes(b"")  # 0 bytes: unreadable
    with caplog.at_level(logging.WARNING):
        data = ImageFolder(root=str(tmp_path), cache=False, val_fraction=0.25, test_fraction=0.25)
        data.setup()
    assert "skipping 1 unreadable pairs" in caplog.text and "e.png" in caplog.text


# ---- segmentation folders: images and their masks ----------------------------------------


def segmentation_folder(root: Path, n: int = 10, classes: int = 2) -> Path:
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        image = rng.integers(0, 256, (12, 12), dtype=np.uint8)
        mask = np.zeros((12, 12), dtype=np.uint8)
        mask[2:8, 3 : 3 + i % 6 + 1] = 255 if classes == 2 else 1
        if classes > 2:
            mask[9:, :4] = 2
        Image.fromarray(image).save(root / "images" / f"cell{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"cell{i}.png")
    return root


def test_a_folder_of_images_and_masks(tmp_path: Path) -> None:
    data = ImageFolder(
        root=str(segmentation_folder(tmp_path / "seg")),
        cache=False,
        test_fraction=0.2,
        val_fraction=0.2,
    )
    data.setup()
    assert (len(data.train), len(data.val), len(data.test)) == (6, 2, 2)
    batch = data.train[list(range(6))]
    assert batch[0].shape == (6, 1, 12, 12) and batch[2]["mask"].shape == (6, 12, 12)
    assert set(batch[2]["mask"].unique().tolist()) == {0, 1}  # 0/255 masks read as 0/1
    three = ImageFolder(
        root=str(segmentation_folder(tmp_path / "three", classes=3)), num_classes=3, cache=False
    )
    three.setup()
    assert set(three.train.masks.unique().tolist()) == {0, 1, 2}


def test_missing_partners_are_named_with_exit_status_2(tmp_path: Path) -> None:
    root = segmentation_folder(tmp_path / "seg")
    (root / "masks" / "cell3.png").unlink()
    result = run_main(
        "train", "task=segment", "dataset=folder", f"dataset.root={root}", cwd=tmp_path
    )
    assert_one_line_error(result, "cell3.png", "has no mask")
    root2 = segmentation_folder(tmp_path / "seg2")
    (root2 / "images" / "cell4.png").unlink()
    result = run_main(
        "train", "task=segment", "dataset=folder", f"dataset.root={root2}", cwd=tmp_path
    )
    assert_one_line_error(result, "cell4.png", "has no image")
    assert not (tmp_path / "outputs").exists()


def test_a_mask_with_too_many_classes_is_refused(tmp_path: Path) -> None:
    root = segmentation_folder(tmp_path / "seg", classes=3)
    with pytest.raises(UserError, match="holds class 2; set dataset.num_classes"):
        ImageFolder(root=str(root), cache=False).setup()
