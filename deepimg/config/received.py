"""Files someone sent you: a run folder, a sweep, a checkpoint's config. Read them as data.

A run folder is a small tree of files that deepimg wrote, but once it has been copied,
zipped or mailed it is untrusted input, and each way of reading it is a way in:

* a *symlink* named like a log (``a.log -> /proc/self/environ``) copies a secret into a
  report; a *FIFO* hangs the reader for ever. Only regular files that lie inside the folder
  are read (:func:`read_text`), with a size cap, through ``O_NOFOLLOW | O_NONBLOCK``.
* *YAML aliases* nest: 332 bytes of them expand to a billion nodes once OmegaConf copies the
  tree (it took 241 s and 1 GB). :func:`read_yaml` counts the nodes the document expands to
  before building anything, and refuses beyond a cap.
* *Interpolations* resolve when read: ``${oc.env:SECRET_TOKEN}`` reads this machine's
  environment. :func:`foreign_resolvers` names those that a received config may not use.

Every refusal is a :class:`ReceivedFileError`, a ``UserError`` whose message is one line.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from deepimg.errors import UserError

MAX_YAML_BYTES = 4 * 2**20  # a run's config.yaml is a few kB; a sweep's multirun.yaml too
MAX_YAML_NODES = 100_000  # after aliases are expanded; deepimg's configs have about 500
MAX_TEXT_BYTES = 2**20  # logs are read from their end: the last MiB is plenty for a last line
# Resolvers that deepimg's own configs use; any other one in a received file is refused.
OWN_RESOLVERS = frozenset({"hydra", "now", "deepimg_direction"})
RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w.]*)\s*:")


class ReceivedFileError(UserError):
    """A received file that deepimg will not read; the message says which and why."""


def open_regular(path: Path, inside: Path) -> int:
    """A read-only descriptor of ``path``, which must be a regular file inside ``inside``
    (no symlink at its end, none leading out of ``inside``); the caller closes it."""
    if not path.resolve().is_relative_to(inside.resolve()):
        raise ReceivedFileError(f"'{path}' leads outside '{inside}'; it is not read")
    try:  # O_NONBLOCK: opening a FIFO returns at once, and fstat tells it apart below
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        reason = "a symlink" if err.errno == getattr(os, "ELOOP", 40) else err.strerror
        raise ReceivedFileError(f"'{path}' cannot be read ({reason})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ReceivedFileError(f"'{path}' is not a regular file; it is not read")
    return fd


def read_bytes(path: Path, inside: Path, limit: int, tail: bool = False) -> bytes:
    """At most ``limit`` bytes of a regular file inside ``inside``: its start, or with
    ``tail`` its end. A longer file is refused unless ``tail`` is set."""
    fd = open_regular(path, inside)
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit and not tail:
            raise ReceivedFileError(
                f"'{path}' is {size / 2**20:.1f} MiB, more than the {limit / 2**20:.0f} MiB "
                "deepimg reads from a received file"
            )
        handle.seek(max(0, size - limit))
        return handle.read(limit)


def read_text(path: Path, inside: Path, limit: int = MAX_TEXT_BYTES, tail: bool = True) -> str:
    """A received text file (a log) as text, undecodable bytes replaced; see ``read_bytes``."""
    return read_bytes(path, inside, limit, tail).decode("utf-8", errors="replace")


def expanded_nodes(node: yaml.Node, limit: int) -> int:
    """How many nodes ``node`` stands for once every alias is expanded (each alias counts as
    a full copy, as OmegaConf makes one); stops counting past ``limit``. A recursive alias
    counts as unbounded."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(n: yaml.Node) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if id(n) in visiting:
            return limit + 1  # a node that contains itself never ends
        visiting.add(id(n))
        total = 1
        if isinstance(n, yaml.SequenceNode):
            children = n.value
        elif isinstance(n, yaml.MappingNode):
            children = [part for pair in n.value for part in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        visiting.discard(id(n))
        sizes[id(n)] = total
        return total

    return size(node)


def parse_yaml(text: str, source: str | Path) -> Any:
    """YAML text from a received file as plain Python (dicts, lists, scalars), read as
    OmegaConf reads it (``1e-3`` is a float), with at most ``MAX_YAML_NODES`` nodes after
    aliases are expanded. Interpolations stay as written: nothing is resolved here."""
    from omegaconf._utils import get_yaml_loader  # OmegaConf.load's own loader

    loader = get_yaml_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if expanded_nodes(node, MAX_YAML_NODES) > MAX_YAML_NODES:
            raise ReceivedFileError(
                f"{source} expands to more than {MAX_YAML_NODES:,} YAML nodes (nested "
                "aliases?); deepimg refuses it"
            )
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or type(err).__name__
        raise ReceivedFileError(f"{source} is not readable YAML ({problem})") from None
    finally:
        loader.dispose()


def read_yaml(path: Path, inside: Path | None = None) -> Any:
    """A received YAML file (``.hydra/config.yaml``, ``multirun.yaml``) as plain Python: a
    regular file inside ``inside`` (default: its own folder), at most ``MAX_YAML_BYTES``."""
    raw = read_bytes(path, inside or path.parent, MAX_YAML_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReceivedFileError(f"{path} is not UTF-8 text") from None
    return parse_yaml(text, path)


def foreign_resolvers(tree: Any) -> list[str]:
    """The interpolation resolvers used anywhere in ``tree`` (plain Python, as read) that
    deepimg's own configs never use, such as ``oc.env``, which reads the environment."""
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                visit(key)
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, str):
            found.extend(r for r in RESOLVER.findall(value) if r not in OWN_RESOLVERS)

    visit(tree)
    return list(dict.fromkeys(found))


def select(tree: Any, dotted: str, default: Any = None) -> Any:
    """``tree["a"]["b"]`` for ``"a.b"`` in a plain config as read, without resolving anything."""
    node = tree
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node
