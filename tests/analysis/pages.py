"""Reading back the pages deepimg writes: which images and links they reference."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote


class References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        elif tag == "a":
            self.links.append(values["href"] or "")


def references(page: Path) -> References:
    parser = References()
    parser.feed(page.read_text())
    return parser


def missing_images(page: Path) -> list[str]:
    """Image sources of ``page`` that are not files relative to its folder (or not relative)."""
    return [
        src
        for src in references(page).images
        if "://" in src or src.startswith("/") or not (page.parent / unquote(src)).is_file()
    ]
