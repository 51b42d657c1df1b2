"""MedMNIST's npz format, official splits, class names, and the verified download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from deepimg.data import medmnist
from deepimg.data.medmnist import MedMNIST
from deepimg.errors import UserError

SIZES = {"train": 80, "val": 16, "test": 24}


def write_npz(path: Path, size: int = 28, rgb: bool = True) -> Path:
    rng = np.random.default_rng(1)
    arrays = {}
    for split, n in SIZES.items():
        shape = (n, size, size, 3) if rgb else (n, size, size)
        arrays[f"{split}_images"] = rng.integers(0, 256, size=shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 8).reshape(n, 1).astype(np.uint8)
    np.savez_compressed(path, **arrays)
    return path


def test_reads_official_splits_shapes_and_class_names(tmp_path: Path) -> None:
    write_npz(tmp_path / "bloodmnist.npz")
    dm = MedMNIST(root=str(tmp_path))
    dm.setup()
    assert dm.in_shape == (3, 28, 28) and dm.num_classes == 8 and dm.bit_depth == 8
    assert (len(dm.train), len(dm.val), len(dm.test)) == (80, 16, 24)  # as published
    assert dm.class_names[0] == "basophil" and dm.class_names[-1] == "platelet"
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape[1:] == (3, 28, 28) and x.min() >= 0 and x.max() <= 1 and y.max() == 7


def test_other_sizes_and_grayscale_subsets(tmp_path: Path) -> None:
    write_npz(tmp_path / "organamnist_64.npz", size=64, rgb=False)
    dm = MedMNIST(name="organamnist", size=64, root=str(tmp_path), train_size=40)
    dm.setup()
    assert dm.in_shape == (1, 64, 64) and len(dm.train) == 40
    assert dm.class_balance()["train"].sum() == 40


def test_root_without_the_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="holds no bloodmnist_128.npz"):
        MedMNIST(size=128, root=str(tmp_path)).setup()
    (tmp_path / "bloodmnist.npz").write_bytes(b"nonsense")
    with pytest.raises(UserError, match="not a readable MedMNIST"):
        MedMNIST(root=str(tmp_path)).setup()


def test_download_is_md5_checked_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = write_npz(tmp_path / "served.npz")
    md5 = hashlib.md5(served.read_bytes()).hexdigest()
    monkeypatch.setitem(
        medmnist.INFO["bloodmnist"]["files"], "28", {"url": served.as_uri(), "md5": md5}
    )
    monkeypatch.setenv("DEEPIMG_DATA", str(tmp_path / "cache"))
    MedMNIST().setup()
    assert (tmp_path / "cache" / "medmnist" / "bloodmnist.npz").is_file()
    served.unlink()  # a second load needs no server
    assert len(MedMNIST()._loaded().class_names) == 8
