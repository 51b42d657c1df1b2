"""The IDX file format of (Fashion-)MNIST: a magic number, the dimensions, then raw bytes."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np
import torch

# The third byte of the magic number names the element type.
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> torch.Tensor:
    """Read a (optionally gzipped) IDX file into a tensor of its stored shape.

    A process reads each file once: the pre-flight check, the run and every job of a sweep
    share it (un-gzipping Fashion-MNIST takes about 0.3 s). The file's size and modification
    time are part of the key, so a file replaced in between is read again; callers get a
    copy of their own."""
    path = Path(path).resolve()
    stat = path.stat()
    return _read_idx(path, stat.st_size, stat.st_mtime_ns).clone()


@functools.lru_cache(maxsize=8)  # the four files of one dataset, and of a second
def _read_idx(path: Path, _size: int, _mtime_ns: int) -> torch.Tensor:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    array = np.frombuffer(data, dtype=_DTYPES[data[2]], offset=4 + 4 * ndim)
    return torch.from_numpy(array.reshape(dims).copy())


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (used by tests to make small fixtures)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())
