"""The pages' templates: text is escaped, numbers are right-aligned, paths stay relative."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepimg.analysis import html
from deepimg.analysis.html import Link, Table


def rendered(table: Table) -> str:
    macro = '{% from "macros.html.j2" import table %}{{ table(t) }}'
    return html.environment().from_string(macro).render(t=table)


def test_text_is_escaped_and_links_are_kept() -> None:
    out = rendered(
        Table(["name", "page"], [["<script>x</script>", Link("a%20b/index.html", "run & co")]])
    )
    assert "&lt;script&gt;" in out and "<script>" not in out
    assert '<a href="a%20b/index.html">run &amp; co</a>' in out


def test_numeric_columns_are_right_aligned_and_failed_rows_marked() -> None:
    rows = [["0", "0.8578 ± 0.0028", "completed", "1e-05"], ["1", "", "failed", "12,000"]]
    out = rendered(Table(["run", "test/acc", "status", "lr"], rows, ["", "failed"]))
    assert '<th class="num">test/acc</th>' in out and '<th class="num">lr</th>' in out
    assert "<th>status</th>" in out
    assert '<tr class="failed"><td class="num">1</td><td class="num"></td><td>failed</td>' in out


def test_relative_paths_climb_out_of_the_report_folder(tmp_path: Path) -> None:
    out = tmp_path / "sweep" / "report"
    assert html.relative(tmp_path / "sweep" / "3" / "index.html", out) == "../3/index.html"
    assert html.relative(out / "plot.png", out) == "plot.png"


def test_links_are_relative_paths_whatever_the_folder_names(tmp_path: Path) -> None:
    run = tmp_path / "javascript:alert(1)" / "index.html"
    href = html.relative(run, tmp_path)
    assert href == "javascript%3Aalert%281%29/index.html"
    assert html.relative(run, tmp_path / "report") == "../javascript%3Aalert%281%29/index.html"
    assert 'href="javascript%3A' in rendered(Table(["run"], [[Link(href, "run")]]))
    for bad in ("javascript:alert(1)", "http://evil.example/", "//evil.example", "/etc/passwd"):
        with pytest.raises(ValueError, match="relative paths"):
            Link(bad, "x")


def test_every_value_a_page_shows_is_escaped() -> None:
    """Titles, subtitles, captions and figure paths too, not only table cells."""
    evil = '<img src=x onerror="alert(1)">'
    page = html.render(
        "run.html.j2", title=evil, subtitle=[evil], metrics=None, diagnosis=evil,
        figure_sections=[{"title": evil, "figures": [html.Figure("a.png", evil)], "tables": []}],
        physics=[], data=None,
    )  # fmt: skip
    assert (
        "<img src=x" not in page and page.count("&lt;img src=x") == 7
    )  # title, h1, subtitle, diagnosis, section, alt, caption
