"""The manual: `mkdocs build --strict` succeeds, and every relative link in README.md resolves."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")

# [text](target) and ![alt](target), with an optional "title"; reference-style [x]: target too.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)


def _missing_doc_tools() -> list[str]:
    missing = []
    for name in DOC_TOOLS:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


def _relative_links(markdown: str) -> list[str]:
    """Link targets that are paths in the repository: no URL scheme, no pure #anchor."""
    # Links inside code (fenced, indented or inline) are text, not links.
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("    "))
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [
        t
        for t in targets
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t) and not t.startswith(("#", "//"))
    ]


def test_readme_relative_links_point_to_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = _relative_links(readme)
    assert links, "README.md links to no file: the manual's pages should be linked from it"
    missing = [
        link
        for link in links
        if not (ROOT / unquote(link.split("#", 1)[0].split("?", 1)[0])).exists()
    ]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_readme_links_the_manual_and_stays_short() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/index.md" in _relative_links(readme)
    assert len(readme.splitlines()) <= 200, "the README is the first day; the rest is in docs/"


def test_mkdocs_build_strict_succeeds(tmp_path: Path) -> None:
    missing = _missing_doc_tools()
    if missing:
        pytest.skip(
            f"the docs tools are not installed ({', '.join(missing)}): "
            "pip install -e '.[docs]' (make install does)"
        )
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    )
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    # Each physical layer's page carries its forward model, rendered from the class's docstring.
    blur = (site / "physical-layers" / "blur" / "index.html").read_text(encoding="utf-8")
    assert "deepimg.physics.blur.Blur" in blur and "Forward model" in blur
