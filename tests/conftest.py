"""Shared fixtures: a small real Fashion-MNIST subset (or generated stand-ins), and CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from deepimg.data.idx import read_idx, write_idx  # noqa: E402

DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")
SUBSET = {"train": 3000, "t10k": 1000}


def _real_subset(folder: Path) -> None:
    """The first images of the real Fashion-MNIST files, rewritten as small IDX files."""
    for split, n in SUBSET.items():
        images = read_idx(DEBIAN_FMNIST / f"{split}-images-idx3-ubyte.gz")[:n].numpy()
        labels = read_idx(DEBIAN_FMNIST / f"{split}-labels-idx1-ubyte.gz")[:n].numpy()
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)


def _generated(folder: Path) -> None:
    """Where the real data is absent: 10 learnable classes of bright bars at class-wise positions."""
    rng = np.random.default_rng(0)
    for split, n in SUBSET.items():
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, size=(n, 28, 28))
        for i, y in enumerate(labels):
            images[i, 2 + 2 * y : 5 + 2 * y, 4:24] += 180
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images.clip(0, 255))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)


@pytest.fixture(scope="session")
def fmnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of IDX files: 3,000 train and 1,000 test images of real Fashion-MNIST."""
    folder = tmp_path_factory.mktemp("fashion-mnist")
    if (DEBIAN_FMNIST / "train-images-idx3-ubyte.gz").is_file():
        _real_subset(folder)
    else:
        _generated(folder)
    return folder


QUICK = [
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "trainer.accelerator=cpu",
]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``deepimg ARGS`` in a fresh process, as a user runs it."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HYDRA_FULL_ERROR": "0"}
    env.setdefault("DEEPIMG_DATA", str(cwd / ".deepimg-cache"))  # never the user's own cache
    return subprocess.run(
        [sys.executable, "-m", "deepimg.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
