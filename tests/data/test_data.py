"""Fashion-MNIST from IDX files: sources, splits, and batches sliced from memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepimg.data.datamodule import InMemoryImages
from deepimg.data.fashion_mnist import FashionMNIST
from deepimg.data.idx import read_idx, write_idx
from deepimg.data.splits import stratified_take
from deepimg.errors import UserError


def test_idx_round_trip(tmp_path: Path) -> None:
    array = np.random.default_rng(0).integers(0, 256, size=(5, 3, 4), dtype=np.uint8)
    write_idx(tmp_path / "x.gz", array)
    assert torch.equal(read_idx(tmp_path / "x.gz"), torch.from_numpy(array))


def test_not_an_idx_file(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "x")


def test_a_file_read_twice_is_the_same_a_copy_and_a_new_file_is_read_again(tmp_path: Path) -> None:
    import os

    path = tmp_path / "x.gz"
    write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    first = read_idx(path)
    first.zero_()  # a caller's change stays its own
    assert torch.equal(read_idx(path), torch.arange(24, dtype=torch.uint8).reshape(2, 3, 4))
    write_idx(path, np.full((2, 2), 7, dtype=np.uint8))
    os.utime(path, ns=(1, 1))  # another modification time, whatever the clock's resolution
    assert torch.equal(read_idx(path), torch.full((2, 2), 7, dtype=torch.uint8))


def test_stratified_split_keeps_class_shares_and_is_seeded() -> None:
    labels = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)
    taken, rest = stratified_take(labels, 0.1, seed=0)
    assert labels[taken].bincount().tolist() == [60, 30, 10]
    assert len(set(taken.tolist()) | set(rest.tolist())) == 1000 and not set(taken.tolist()) & set(
        rest.tolist()
    )
    assert torch.equal(stratified_take(labels, 0.1, seed=0)[0], taken)
    assert not torch.equal(stratified_take(labels, 0.1, seed=1)[0], taken)


def test_count_subsample_is_stratified() -> None:
    labels = torch.arange(1000) % 4
    taken, _ = stratified_take(labels, 200, seed=3)
    assert labels[taken].bincount().tolist() == [50, 50, 50, 50]


def test_datamodule_splits_shapes_and_classes(fmnist_root: Path) -> None:
    dm = FashionMNIST(root=str(fmnist_root), val_fraction=0.1, train_size=1000, batch_size=100)
    dm.setup()
    assert (
        dm.in_shape == (1, 28, 28) and dm.num_classes == 10 and dm.class_names[0] == "T-shirt/top"
    )
    assert len(dm.val) == 300 and len(dm.test) == 1000
    assert abs(len(dm.train) - 1000) <= 10  # rounding per class
    assert set(dm.train.labels.bincount().tolist()) <= set(range(80, 121))  # every class present
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (100, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() >= 0 and x.max() <= 1


def test_test_batches_cover_the_test_split_in_order(fmnist_root: Path) -> None:
    dm = FashionMNIST(root=str(fmnist_root), batch_size=300)
    dm.setup()
    labels = torch.cat([y for _, y in dm.test_dataloader()])
    assert torch.equal(labels, dm.test.labels)


def test_a_batch_is_one_slice_without_augmentation() -> None:
    images = torch.arange(4 * 2 * 2, dtype=torch.uint8).reshape(4, 1, 2, 2)
    data = InMemoryImages(images, torch.arange(4), max_value=15)
    x, y = data[[3, 1]]
    assert torch.equal(y, torch.tensor([3, 1])) and torch.allclose(x[0], images[3].float() / 15)


def test_augmentation_changes_training_scenes_only(fmnist_root: Path) -> None:
    from deepimg.data.augment import Augmentation

    dm = FashionMNIST(
        root=str(fmnist_root),
        batch_size=64,
        augmentation=Augmentation(hflip=1.0, affine=0, brightness_contrast=0, noise=0),
    )
    dm.setup()
    x, _ = dm.train[list(range(8))]
    raw = dm.train.images[:8].float() / 255
    assert torch.allclose(x, raw.flip(-1))  # a certain flip
    xv, _ = dm.val[list(range(8))]
    assert torch.allclose(xv, dm.val.images[:8].float() / 255)


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        FashionMNIST(root=str(tmp_path / "nope")).setup()
    with pytest.raises(UserError, match="lacks train-images"):
        FashionMNIST(root=str(tmp_path)).setup()


def test_download_is_checksum_verified_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file:// 'server' stands in for the official one: nothing leaves the machine."""
    from deepimg.data.download import file_digest, resolve_files

    server = tmp_path / "server"
    server.mkdir()
    write_idx(server / "a.gz", np.arange(12, dtype=np.uint8).reshape(3, 4))
    good = "sha256:" + file_digest(server / "a.gz", "sha256", decompress=True)
    monkeypatch.setenv("DEEPIMG_DATA", str(tmp_path / "cache"))
    folder = resolve_files("toy", {"a.gz": good}, None, [], f"file://{server}")
    assert folder == tmp_path / "cache" / "toy" and (folder / "a.gz").is_file()
    assert resolve_files("toy", {"a.gz": good}, None, [], "file:///nowhere") == folder  # cached now
    with pytest.raises(UserError, match="checksum mismatch"):
        resolve_files("bad", {"a.gz": "md5:" + "0" * 32}, None, [], f"file://{server}")
    assert not list((tmp_path / "cache" / "bad").glob("*"))  # the bad download was discarded


def test_only_the_first_process_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under DDP the first process fetches (in prepare_data, or before the Trainer exists);
    the other ranks, which Lightning starts with LOCAL_RANK >= 1, read what it fetched."""
    import deepimg.data.download as download_module
    from deepimg.data.download import file_digest
    from deepimg.data.idx_dataset import IdxDataModule

    server = tmp_path / "server"
    server.mkdir()
    rng = np.random.default_rng(0)
    files = {}
    for split, n in (("train", 60), ("t10k", 20)):
        write_idx(
            server / f"{split}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 4, 4), dtype=np.uint8),
        )
        write_idx(server / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 2)
    for path in server.iterdir():
        files[path.name] = "sha256:" + file_digest(path, "sha256", decompress=True)

    class Toy(IdxDataModule):
        name, classes, url = "toy", ["even", "odd"], f"file://{server}"

    Toy.files = files
    fetched: list[str] = []
    real = download_module.download
    monkeypatch.setattr(
        download_module, "download", lambda url, *a: (fetched.append(url), real(url, *a))
    )
    monkeypatch.setenv("DEEPIMG_DATA", str(tmp_path / "cache"))

    monkeypatch.setenv("LOCAL_RANK", "1")  # a later rank, before anything was fetched
    with pytest.raises(UserError, match="only the first process fetches"):
        Toy(val_fraction=0.2).setup()
    assert fetched == [] and not (tmp_path / "cache").exists()

    monkeypatch.setenv("LOCAL_RANK", "0")
    first = Toy(val_fraction=0.2)
    first.setup()
    assert len(fetched) == 4
    first.prepare_data()  # as Lightning calls it again in fit: found, not fetched
    monkeypatch.setenv("LOCAL_RANK", "1")
    other = Toy(val_fraction=0.2)
    other.setup()
    assert len(fetched) == 4 and len(other.raw.train_labels) == 60
