"""Markdown text that shows what it says.

``summary.md`` is rendered by GitHub, GitLab, VS Code and static-site generators, and most of
them pass raw HTML through: a class or folder named ``<script>...`` or
``[x](javascript:...)`` would become markup. Every value written into deepimg's Markdown goes
through :func:`escape`, so it renders as the text it is.
"""

from __future__ import annotations

import re

# Characters that start Markdown syntax (emphasis, code, links, tables, escapes). "_" is
# left alone: inside a word (test/acc_baseline) it never starts emphasis in CommonMark.
SYNTAX = re.compile(r"([\\`*\[\]|#!])")
ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(value: object) -> str:
    """``value`` as Markdown text on one line: HTML's specials as entities, Markdown's
    syntax characters backslash-escaped."""
    text = " ".join(str(value).split())
    text = "".join(ENTITIES.get(ch, ch) for ch in text)
    return SYNTAX.sub(r"\\\1", text)
