"""The page builder: text is escaped, numbers are right-aligned, paths stay relative."""

from __future__ import annotations

from pathlib import Path

from deepimg.analysis import html


def test_text_is_escaped_and_markup_is_kept() -> None:
    cells = [["<script>x</script>", html.link("a b/index.html", "run & co")]]
    out = html.table(["name", "page"], cells)
    assert "&lt;script&gt;" in out and "<script>" not in out
    assert '<a href="a b/index.html">run &amp; co</a>' in out


def test_numeric_columns_are_right_aligned_and_failed_rows_marked() -> None:
    rows = [["0", "0.8578 ± 0.0028", "completed", "1e-05"], ["1", "", "failed", "12,000"]]
    out = html.table(["run", "test/acc", "status", "lr"], rows, ["", "failed"])
    assert '<th class="num">test/acc</th>' in out and '<th class="num">lr</th>' in out
    assert "<th>status</th>" in out
    assert '<tr class="failed"><td class="num">1</td><td class="num"></td><td>failed</td>' in out


def test_relative_paths_climb_out_of_the_report_folder(tmp_path: Path) -> None:
    out = tmp_path / "sweep" / "report"
    assert html.relative(tmp_path / "sweep" / "3" / "index.html", out) == "../3/index.html"
    assert html.relative(out / "plot.png", out) == "plot.png"


def test_links_are_relative_paths_whatever_the_folder_names(tmp_path: Path) -> None:
    import pytest

    run = tmp_path / "javascript:alert(1)" / "index.html"
    href = html.relative(run, tmp_path)
    assert href == "javascript%3Aalert%281%29/index.html"
    assert html.relative(run, tmp_path / "report") == "../javascript%3Aalert%281%29/index.html"
    assert 'href="javascript%3A' in html.link(href, "run")
    for bad in ("javascript:alert(1)", "http://evil.example/", "//evil.example", "/etc/passwd"):
        with pytest.raises(ValueError, match="relative paths"):
            html.link(bad, "x")
