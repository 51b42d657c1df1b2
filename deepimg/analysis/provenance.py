"""Where results came from: library versions and the git commit of the deepimg source."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "pytorch-lightning", "torchmetrics", "hydra-core", "deepimg")


def versions() -> dict[str, str]:
    """Python's and each package's installed version, read from metadata (no heavy imports)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def git_commit(folder: Path | None = None) -> str | None:
    """The short commit of the git checkout holding ``folder`` (deepimg's source by default),
    with "+ local changes" when tracked files differ from it; None outside a git checkout."""
    folder = folder or Path(__file__).resolve().parent
    # GIT_OPTIONAL_LOCKS=0: `git status` must not refresh (write) the index of a checkout
    # that someone may be committing in at the same moment.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            env=env,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + (" + local changes" if dirty else "")
