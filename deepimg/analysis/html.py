"""Self-contained HTML pages: inline style, images by relative path, no script, no network.

Text is escaped unless it is wrapped in :class:`Html`, which marks markup built here.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # a URL's scheme, as in javascript: or http:

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #222; background: #f6f7f9; margin: 0; }
header { background: #1f3b57; color: #fff; padding: 1.4em 2em 1em; }
header h1 { margin: 0 0 .2em; font-size: 1.6em; }
header p { margin: .2em 0; color: #cfe0f1; }
main { max-width: 1200px; margin: 0 auto; padding: 1em 2em 3em; }
section { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px #0002;
          padding: .6em 1.4em 1.2em; margin: 1.2em 0; }
h2 { font-size: 1.2em; color: #1f3b57; border-bottom: 1px solid #e3e6ea; padding-bottom: .3em; }
figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; border: 1px solid #e3e6ea; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(var(--min), 1fr));
        gap: .5em 1em; }
.grid figure { margin: 0; }
.grid figure img { width: 100%; }
figcaption { font-size: .85em; color: #555; max-width: 640px; }
table { border-collapse: collapse; font-size: .88em; margin: .5em 0; }
th, td { padding: .25em .7em; border-bottom: 1px solid #e3e6ea; text-align: left; }
th { background: #eef1f5; position: sticky; top: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { color: #a61b1b; }
.note { color: #555; font-size: .9em; }
.scroll { overflow-x: auto; }
code { background: #eef1f5; padding: 0 .25em; border-radius: 3px; }
"""


class Html(str):
    """A string of markup that must not be escaped again."""


def text(value: object) -> str:
    return value if isinstance(value, Html) else html.escape(str(value))


def link(href: str, label: object) -> Html:
    """A link to ``href``, a relative URL path as ``relative`` makes: never a scheme
    (``javascript:``), a host or an absolute path, whatever folder names it was made from."""
    if SCHEME.match(href) or href.startswith(("/", "\\")):
        raise ValueError(f"links on deepimg's pages are relative paths, not {href!r}")
    return Html(f'<a href="{html.escape(href)}">{text(label)}</a>')


def relative(target: Path, start: Path) -> str:
    """``target`` as a URL path relative to the folder ``start`` (pages are moved as a tree).

    Each folder name is percent-encoded: a run folder named ``javascript:alert(1)`` becomes
    ``javascript%3Aalert%281%29``, a path the browser opens, never a script it runs."""
    parts = Path(os.path.relpath(target, start)).parts
    return "/".join(p if p in (".", "..") else quote(p, safe="") for p in parts)


def figure(src: str, caption: object = "") -> Html:
    caption_html = f"<figcaption>{text(caption)}</figcaption>" if caption else ""
    return Html(
        f'<figure><img src="{html.escape(src)}" alt="{html.escape(str(caption) or src)}">{caption_html}</figure>'
    )


NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( ± [\d.e+-]+)?$")


def numeric_columns(rows: list[list[object]], width: int) -> list[bool]:
    """Columns whose filled cells are all numbers (such as ``0.8578 ± 0.0028``): right-aligned."""
    columns = []
    for j in range(width):
        filled = [str(row[j]) for row in rows if str(row[j])]
        columns.append(bool(filled) and all(NUMBER.match(c) for c in filled))
    return columns


def table(
    header: list[str], rows: Iterable[list[object]], row_classes: Iterable[str] | None = None
) -> Html:
    """A table of escaped cells (``Html`` cells are kept as markup); numbers right-aligned."""
    rows = [list(row) for row in rows]
    align = [' class="num"' if n else "" for n in numeric_columns(rows, len(header))]
    head = "".join(f"<th{a}>{text(h)}</th>" for h, a in zip(header, align, strict=True))
    classes = list(row_classes) if row_classes is not None else [""] * len(rows)
    body = ""
    for row, cls in zip(rows, classes, strict=True):
        cells = "".join(f"<td{a}>{text(c)}</td>" for c, a in zip(row, align, strict=True))
        body += f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>"
    return Html(
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def grid(*figures: Html, min_width: int = 480) -> Html:
    """Figures side by side, as many per row as fit at ``min_width`` pixels or more each."""
    return Html(f'<div class="grid" style="--min: {min_width}px">{"".join(figures)}</div>')


def paragraph(content: object, note: bool = False) -> Html:
    return Html(f"<p{' class=note' if note else ''}>{text(content)}</p>")


def section(title: str, *parts: object) -> Html:
    return Html(f"<section><h2>{text(title)}</h2>{''.join(text(p) for p in parts)}</section>")


def page(title: str, subtitle: list[object], sections: list[Html]) -> str:
    lines = "".join(f"<p>{text(s)}</p>" for s in subtitle)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><header><h1>{text(title)}</h1>{lines}</header>\n<main>\n"
        + "\n".join(sections)
        + "\n</main></body></html>\n"
    )
