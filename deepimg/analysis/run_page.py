"""A run's ``index.html``, assembled from the files in its folder (``templates/run.html.j2``).

The page only shows what exists: ``metrics.json``, the run's overrides, the figures that the
task's analysis listed in ``analysis/analysis.json`` (with their captions and tables),
``physics/*.png`` and ``class_balance.csv``. So it is the same code for a training run and
for a re-test by ``deepimg eval``, for every task, and it can be rebuilt at any time.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from deepimg.analysis import html
from deepimg.analysis.html import Figure, Table
from deepimg.analysis.tables import headline
from deepimg.config.received import ReceivedFileError, read_bytes, read_text, read_yaml

PAGE = "index.html"
MAX_JSON_BYTES = 2**20  # the analysis.json and metrics.json that deepimg writes are a few kB
MAX_CSV_BYTES = 2**20  # a per-class table of a few hundred classes


def number(value: object, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def describe_run(run_dir: Path, values: dict) -> list[str]:
    """The header lines: what this run is (its overrides, or the checkpoint it re-tested)."""
    overrides = run_dir / ".hydra" / "overrides.yaml"
    if "ckpt" in values:
        return [f"re-test of {values['ckpt']}", f"overrides: {values.get('overrides') or 'none'}"]
    if overrides.is_file():
        saved = read_yaml(overrides)
        saved = saved if isinstance(saved, list) else []
        lines = [str(o) for o in saved if not str(o).startswith("hydra")]
        return [f"overrides: {' '.join(lines) or 'none (the defaults)'}"]
    return []


def metrics_table(values: dict) -> Table | None:
    rows = [
        [key, number(values[key], digits=1 if key.endswith("_s") else 4)]  # seconds: 0.1 s will do
        for key in headline(values)
        if values.get(key) is not None
    ]
    return Table(["metric", "value"], rows) if rows else None


def read_json(path: Path) -> dict:
    """A JSON object that deepimg wrote into a run folder, or {} where it is absent or
    unreadable: the folder may have come from someone else (see ``config.received``)."""
    if not (path.exists() or path.is_symlink()):
        return {}
    try:
        values = json.loads(read_bytes(path, path.parent, MAX_JSON_BYTES))
    except (ReceivedFileError, ValueError, RecursionError):
        return {}
    return values if isinstance(values, dict) else {}


def csv_table(path: Path) -> Table | None:
    """A CSV file of the run (a regular file inside its folder) as a table; its first column
    is the index, named as the file names it. None where it is absent or unreadable."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(io.StringIO(read_text(path, path.parent, MAX_CSV_BYTES, tail=False)))
    except (ReceivedFileError, ValueError):  # pandas' parser errors are ValueErrors
        return None
    frame = frame.set_index(frame.columns[0]) if len(frame.columns) else frame
    values = frame.to_numpy(dtype=object)  # row by row, keeping integer columns integers
    rows = [
        [name, *(number(v) for v in row)] for name, row in zip(frame.index, values, strict=True)
    ]
    return Table([str(frame.index.name or ""), *frame.columns], rows)


def page_figures(run_dir: Path, summary: dict) -> list[dict]:
    """The figures to show, in order, with their sections and captions: as the task's
    analysis listed them in ``analysis.json``, or for a run made before it did, every PNG in
    ``analysis/`` under its own name."""
    listed = summary.get("page")
    if isinstance(listed, list) and all(isinstance(f, dict) for f in listed):
        return [f for f in listed if isinstance(f.get("file"), str)]
    return [
        {"file": p.name, "section": "Figures", "caption": p.stem.replace("_", " ")}
        for p in sorted((run_dir / "analysis").glob("*.png"))
    ]


def figure_sections(run_dir: Path, summary: dict) -> list[dict]:
    """One section per figure group, holding the figures that exist, in the analysis's order;
    a figure's table (``per_class.csv`` with the confusion matrix) goes below its section."""
    sections: dict[str, dict] = {}
    for entry in page_figures(run_dir, summary):
        file, title = Path(str(entry["file"])).name, str(entry.get("section", "Figures"))
        if not (run_dir / "analysis" / file).is_file():
            continue
        section = sections.setdefault(title, {"title": title, "figures": [], "tables": []})
        section["figures"].append(Figure(f"analysis/{file}", str(entry.get("caption", ""))))
        if entry.get("table"):
            table = csv_table(run_dir / "analysis" / Path(str(entry["table"])).name)
            section["tables"] += [table] if table is not None else []
    return list(sections.values())


def physics_figures(run_dir: Path) -> list[Figure]:
    pictures = sorted(
        (run_dir / "physics").glob("*.png"), key=lambda p: (p.name != "examples.png", p.name)
    )
    caption = {"examples.png": "Test scenes (top) and what the sensor delivered (bottom)."}
    return [Figure(f"physics/{p.name}", caption.get(p.name, p.stem)) for p in pictures]


def write_run_page(run_dir: Path) -> Path:
    """Write ``run_dir/index.html`` from what the folder holds; returns its path."""
    values = read_json(run_dir / "metrics.json")
    summary = read_json(run_dir / "analysis" / "analysis.json")
    status = values.get("status", "no metrics.json: unfinished or failed")
    page = html.render(
        "run.html.j2",
        title=f"deepimg run {'/'.join(run_dir.resolve().parts[-2:])}",
        subtitle=[*describe_run(run_dir, values), f"status: {status}"],
        metrics=metrics_table(values),
        diagnosis=summary.get("diagnosis"),
        figure_sections=figure_sections(run_dir, summary),
        physics=physics_figures(run_dir),
        data=csv_table(run_dir / "class_balance.csv"),
    )
    (run_dir / PAGE).write_text(page)
    return run_dir / PAGE
