"""CSV cells that a spreadsheet would run as formulas are written as text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from deepimg.analysis.spreadsheets import neutral, write_csv


def test_formula_starts_are_neutralised_and_numbers_kept() -> None:
    for cell in ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'):
        assert neutral(cell) == "'" + cell
    for cell in ("-0.5", "+3", "-1e-3", "plain", "a=b", "", 1.5, -2, None):
        assert neutral(cell) == cell


def test_every_text_cell_index_and_header_is_written_neutral(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"=cmd": ["=HYPERLINK(1)", "ok"], "acc": [-0.5, 0.9]},
        index=pd.Index(["@class", "cat"], name="+name"),
    )
    write_csv(frame, tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == "'+name,'=cmd,acc"
    assert lines[1] == "'@class,'=HYPERLINK(1),-0.5"
    assert frame.loc["@class", "=cmd"] == "=HYPERLINK(1)"  # the caller's frame is untouched
