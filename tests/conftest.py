"""Shared fixtures: a small real Fashion-MNIST subset (or generated stand-ins), a classifier
trained briefly on digits, and CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest -n 2: each worker (and the deepimg it
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # starts) one thread, not one per core

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


@pytest.fixture(scope="session")
def one_thread():
    """Tiny tensors: one torch thread is faster, and far faster on a machine whose cores are
    busy (spinning threads wait for each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits_module(one_thread):
    """An ImagingModule (4-bit sensor, small CNN) on scikit-learn's 8x8 digits, trained for
    a few dozen steps so its figures show structure; and its data module."""
    from deepimg.config import compose as config  # Lightning: only for the tests that train
    from deepimg.training.build import build_datamodule, build_module

    cfg = config.compose(
        ["dataset=digits", "physical_layer.bits=4", "model.channels=8", "model.fc=[32]"]
    )
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    module.train()
    for scenes, labels in datamodule.train_dataloader():
        loss = torch.nn.functional.cross_entropy(module(scenes), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return module.eval(), datamodule


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


def run_main(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``deepimg ARGS`` in this process (``cli.main``), answered as a process would answer:
    exit status, stdout and stderr. For the many refusals that need no process of their own:
    they cost the imports once per test session, not once per test."""
    import contextlib
    import io

    from deepimg.cli import main

    out, err, code = io.StringIO(), io.StringIO(), 0
    before, env = Path.cwd(), dict(os.environ)
    os.environ.setdefault("DEEPIMG_DATA", str(cwd / ".deepimg-cache"))  # never the user's own
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(list(args))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        os.chdir(before)
        os.environ.clear()
        os.environ.update(env)
    return subprocess.CompletedProcess(["deepimg", *args], code, out.getvalue(), err.getvalue())
