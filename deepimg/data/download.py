"""Find a dataset's files: the user's folder, the system's, or a checksum-verified download."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from deepimg.errors import UserError

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where downloads go: ``$DEEPIMG_DATA``, else ``~/.cache/deepimg``."""
    return Path(os.environ.get("DEEPIMG_DATA") or Path.home() / ".cache" / "deepimg")


def has_files(folder: Path, files: Iterable[str]) -> bool:
    return all((folder / name).is_file() for name in files)


def file_digest(path: Path, algorithm: str, decompress: bool = False) -> str:
    """Hex digest of a file; of its decompressed content if ``decompress`` and it is gzipped."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"  # by content: a download is named *.part
    opener = gzip.open if decompress and gzipped else open
    digest = hashlib.new(algorithm)
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, checksum: str) -> bool:
    """``md5:HEX`` checks the file as published (the official lists give MD5s);
    ``sha256:HEX`` checks its decompressed content (robust to re-compression)."""
    algorithm, _, expected = checksum.partition(":")
    return file_digest(path, algorithm, decompress=algorithm == "sha256") == expected


def download(url: str, target: Path, checksum: str) -> None:
    """Download ``url`` to ``target``, keeping it only if its checksum matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    log.info("downloading %s", url)
    try:
        urllib.request.urlretrieve(url, partial)
    except OSError as err:
        raise UserError(
            f"could not download {url} ({err}); set dataset.root to a folder holding the files"
        ) from None
    if not verify(partial, checksum):
        partial.unlink()
        raise UserError(f"checksum mismatch for {url}; the download was discarded")
    partial.replace(target)


def resolve_files(
    name: str,
    files: dict[str, str],  # file name -> "md5:HEX" or "sha256:HEX"
    root: str | None,
    system_dirs: Iterable[str],
    base_url: str,
    fetch: bool = True,
) -> Path:
    """The folder holding all of ``files``.

    Tried in order: ``root`` when given (an error if it lacks the files, never a
    silent fallback), each system folder, the download cache, then a download (only when
    ``fetch``: the other processes of a DDP run read what the first one fetched).
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
    if not fetch:
        raise UserError(f"the {name} files are not in {folder}, and only the first process fetches")
    for file, checksum in files.items():
        if not (folder / file).is_file():
            download(f"{base_url}/{file}", folder / file, checksum)
    return folder
