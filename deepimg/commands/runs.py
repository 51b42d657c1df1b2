"""The run-directory contract that train, eval and report share.

A run directory holds ``.hydra/`` (config.yaml, overrides.yaml), ``metrics.json``,
``checkpoints/best.ckpt``, the CSV logger's ``metrics.csv`` and ``physics/`` pictures.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from deepimg.config.received import ReceivedFileError, read_bytes
from deepimg.errors import UserError

METRICS = "metrics.json"
MAX_METRICS_BYTES = 2**20  # deepimg writes a few kB


def write_metrics(run_dir: str | Path, metrics: dict[str, Any]) -> Path:
    """Write ``metrics.json`` atomically: a reader sees the old file or the whole new one."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    clean = {k: _plain(v) for k, v in metrics.items()}
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".metrics-", suffix=".json")
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would differ from the other files
    with os.fdopen(fd, "w") as f:
        json.dump(clean, f, indent=2, sort_keys=True)
    os.replace(tmp, run_dir / METRICS)
    return run_dir / METRICS


PER_IMAGE = "per_image.npz"


def write_per_image(run_dir: str | Path, records: dict[str, Any]) -> Path | None:
    """``per_image.npz``: each test image's results (the task's ``per_image``), written
    atomically as ``metrics.json`` is; nothing when there are none."""
    if not records:
        return None
    import numpy as np

    run_dir = Path(run_dir)
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".per_image-", suffix=".npz")
    os.chmod(tmp, 0o666 & ~current_umask())
    with os.fdopen(fd, "wb") as f:
        np.savez_compressed(f, **records)
    os.replace(tmp, run_dir / PER_IMAGE)
    return run_dir / PER_IMAGE


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def record_failure(run_dir: str | Path, err: BaseException, status: str = "failed") -> str:
    """``error.log`` (the traceback) and ``metrics.json`` (``status``: failed, or diverged,
    and the error as one line) in ``run_dir``; returns that line. Where even that cannot be
    written (a full disk), the line is still returned, for the terminal."""
    run_dir = Path(run_dir)
    line = " ".join(f"{type(err).__name__}: {err}".split())
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.log").write_text("".join(traceback.format_exception(err)))
        write_metrics(run_dir, {"status": status, "error": line})
    except OSError as problem:
        line += f" (and its record could not be written: {problem.strerror or problem})"
    return line


def read_metrics(run_dir: str | Path) -> dict[str, Any] | None:
    """A run's ``metrics.json``, or None where it is absent or unreadable. The run folder may
    have come from someone else: only a regular file inside it is read (a symlink could
    point at a secret, a FIFO would hang), and at most ``MAX_METRICS_BYTES`` of it."""
    path = Path(run_dir) / METRICS
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        values = json.loads(read_bytes(path, Path(run_dir), MAX_METRICS_BYTES))
    except (ReceivedFileError, ValueError, RecursionError):  # JSON and UTF-8 errors are ValueErrors
        return None
    return values if isinstance(values, dict) else None  # a list or a number is no run's record


def _plain(value: Any) -> Any:
    """Tensors and numpy scalars as plain numbers; NaN as null (JSON has no NaN)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def find_runs(root: str | Path) -> list[Path]:
    """Run directories under ``root`` (itself included): those with ``.hydra/overrides.yaml``."""
    root = Path(root)
    return sorted(
        (
            p.parent.parent
            for p in root.glob("**/.hydra/overrides.yaml")
            if "report" not in p.parts[len(root.parts) :]
        ),
        key=_natural_key,
    )


def _natural_key(path: Path) -> list[tuple[int, int, str]]:
    """Sort sweep members 0, 1, 2, ..., 10 rather than 0, 1, 10, 2; numbers before names
    (``1``, ``2``, ``baseline``), which never compare with each other."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.parts]


def writable_folder(folder: str | Path, key: str) -> Path:
    """Create ``folder`` (with its parents) and check that a file can be written there, so a
    run that could not save its results fails before it starts, with one line naming ``key``."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise UserError(
            f"cannot write to '{folder}' ({err.strerror or err}); choose a folder you can "
            f"write with {key}=DIR"
        ) from None
    return folder


def new_run_dir(multirun: bool, base: str | Path = "outputs") -> Path:
    """Create and return a fresh ``outputs/[multirun/]<date>/<time>[-k]`` directory.

    ``mkdir`` fails when the folder exists, so two runs started in the same second get
    different folders (``-1``, ``-2``, ...) and nothing earlier is overwritten.
    """
    now = datetime.now()
    parent = Path(base) / ("multirun" if multirun else "") / now.strftime("%Y-%m-%d")
    writable_folder(parent, "hydra.sweep.dir" if multirun else "hydra.run.dir")
    stem = now.strftime("%H-%M-%S")
    for k in range(1000):
        candidate = parent / (stem if k == 0 else f"{stem}-{k}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder under {parent}")
