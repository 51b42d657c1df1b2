"""Self-contained HTML pages from Jinja2 templates (``analysis/templates/``): inline style,
images and links by relative path, no script, no network.

Autoescaping is on for every template, so a value that came from a config, a folder name or a
class name (``<img src=x onerror=alert(1)>``) is shown as the text it is. Links are built here
only from relative paths: a folder named ``javascript:alert(1)`` becomes a path, not a script.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # a URL's scheme, as in javascript: or http:
NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( ± [\d.e+-]+)?$")


@dataclass(frozen=True)
class Link:
    """A table cell that links to ``href``, a relative URL path as ``relative`` makes: never
    a scheme (``javascript:``), a host or an absolute path."""

    href: str
    label: str

    def __post_init__(self) -> None:
        if SCHEME.match(self.href) or self.href.startswith(("/", "\\")):
            raise ValueError(f"links on deepimg's pages are relative paths, not {self.href!r}")


@dataclass(frozen=True)
class Figure:
    """An image of the page, by its path relative to the page, with its caption."""

    src: str
    caption: str = ""


@dataclass
class Table:
    """A table of cells (text, or ``Link``s); columns whose filled cells are all numbers
    (such as ``0.8578 ± 0.0028``) are right-aligned; ``classes`` marks rows (``failed``)."""

    header: list[str]
    rows: list[list[object]]
    classes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.header = [str(h) for h in self.header]
        self.rows = [[c if isinstance(c, Link) else str(c) for c in row] for row in self.rows]
        self.classes = self.classes or [""] * len(self.rows)

    @property
    def numeric(self) -> list[bool]:
        return numeric_columns(self.rows, len(self.header))


def numeric_columns(rows: list[list[object]], width: int) -> list[bool]:
    """Columns whose filled cells are all numbers (such as ``0.8578 ± 0.0028``)."""
    columns = []
    for j in range(width):
        filled = [str(row[j]) for row in rows if not isinstance(row[j], Link) and str(row[j])]
        columns.append(bool(filled) and all(NUMBER.match(c) for c in filled))
    return columns


def relative(target: Path, start: Path) -> str:
    """``target`` as a URL path relative to the folder ``start`` (pages are moved as a tree).

    Each folder name is percent-encoded: a run folder named ``javascript:alert(1)`` becomes
    ``javascript%3Aalert%281%29``, a path the browser opens, never a script it runs."""
    parts = Path(os.path.relpath(target, start)).parts
    return "/".join(p if p in (".", "..") else quote(p, safe="") for p in parts)


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("deepimg.analysis", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,  # a value the page forgot is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: object) -> str:
    """The page ``template`` (a file in ``analysis/templates/``) filled with ``context``."""
    return environment().get_template(template).render(**context)
