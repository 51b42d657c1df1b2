"""Find a dataset's files: the user's folder, the system's, or a checksum-verified download."""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from deepimg.errors import UserError


def cache_dir() -> Path:
    """Where downloads go: ``$DEEPIMG_DATA``, else ``~/.cache/deepimg``."""
    return Path(os.environ.get("DEEPIMG_DATA") or Path.home() / ".cache" / "deepimg")


def has_files(folder: Path, files: Iterable[str]) -> bool:
    return all((folder / name).is_file() for name in files)


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's content, decompressed if gzipped (robust to re-compression)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"  # by content: a download is named *.part
    opener = gzip.open if gzipped else open
    digest = hashlib.sha256()
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, target: Path, sha256: str) -> None:
    """Download ``url`` to ``target``, keeping it only if its content's checksum matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        urllib.request.urlretrieve(url, partial)
    except OSError as err:
        raise UserError(
            f"could not download {url} ({err}); set dataset.root to a folder holding the files"
        ) from None
    if content_sha256(partial) != sha256:
        partial.unlink()
        raise UserError(f"checksum mismatch for {url}; the download was discarded")
    partial.replace(target)


def resolve_files(
    name: str,
    files: dict[str, str],
    root: str | None,
    system_dirs: Iterable[str],
    base_url: str,
) -> Path:
    """The folder holding all of ``files`` (file name -> content SHA-256).

    Tried in order: ``root`` when given (an error if it lacks the files, never a
    silent fallback), each system folder, the download cache, then a download.
    """
    if root is not None:
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise UserError(
                f"dataset.root '{root}' does not exist; give a folder holding {', '.join(files)}"
            )
        if not has_files(folder, files):
            missing = [f for f in files if not (folder / f).is_file()]
            raise UserError(f"dataset.root '{root}' lacks {', '.join(missing)}")
        return folder
    for candidate in [Path(d) for d in system_dirs] + [cache_dir() / name]:
        if has_files(candidate, files):
            return candidate
    folder = cache_dir() / name
    for file, sha in files.items():
        if not (folder / file).is_file():
            download(f"{base_url}/{file}", folder / file, sha)
    return folder
