"""A run's ``index.html``, assembled from the files in its folder.

The page only shows what exists: ``metrics.json``, the run's overrides, ``analysis/*.png``
and ``per_class.csv``, ``physics/*.png`` and ``class_balance.csv``. So it is the same code
for a training run and for a re-test by ``deepimg eval``, and it can be rebuilt at any time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from deepimg.analysis import html
from deepimg.analysis.html import Html
from deepimg.analysis.tables import headline
from deepimg.config.received import ReceivedFileError, read_bytes, read_yaml

PAGE = "index.html"
MAX_JSON_BYTES = 2**20  # the analysis.json and metrics.json that deepimg writes are a few kB


def number(value: object, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def describe_run(run_dir: Path, values: dict) -> list[object]:
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


def metrics_section(values: dict) -> Html | None:
    rows = [
        [key, number(values[key], digits=1 if key.endswith("_s") else 4)]  # seconds: 0.1 s will do
        for key in headline(values)
        if values.get(key) is not None
    ]
    return html.section("Metrics", html.table(["metric", "value"], rows)) if rows else None


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


def csv_table(path: Path, index_name: str | None = None) -> Html:
    """A CSV file of the run as a table; its first column is the index, named
    ``index_name`` or as the file names it."""
    frame = pd.read_csv(path, index_col=0)
    index_name = index_name or str(frame.index.name or "")
    values = frame.to_numpy(dtype=object)  # row by row, keeping integer columns integers
    rows = [
        [name, *(number(v) for v in row)] for name, row in zip(frame.index, values, strict=True)
    ]
    return html.table([index_name, *frame.columns], rows)


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


def figure_sections(run_dir: Path, summary: dict) -> list[Html]:
    """One section per figure group, holding the figures that exist, in the analysis's order;
    a figure's table (``per_class.csv`` with the confusion matrix) goes below its section."""
    groups: dict[str, list[Html]] = {}
    tables: dict[str, list[str]] = {}
    for entry in page_figures(run_dir, summary):
        file, section = Path(str(entry["file"])).name, str(entry.get("section", "Figures"))
        if (run_dir / "analysis" / file).is_file():
            caption = str(entry.get("caption", ""))
            groups.setdefault(section, []).append(html.figure(f"analysis/{file}", caption))
            if entry.get("table"):
                tables.setdefault(section, []).append(Path(str(entry["table"])).name)
    sections = []
    for title, figures in groups.items():
        parts = [html.grid(*figures) if len(figures) > 1 else figures[0]]
        for name in tables.get(title, []):
            if (run_dir / "analysis" / name).is_file():
                parts += [
                    html.paragraph("On the test split:"),
                    csv_table(run_dir / "analysis" / name, ""),
                ]
        sections.append(html.section(title, *parts))
    return sections


def physics_section(run_dir: Path) -> Html | None:
    pictures = sorted(
        (run_dir / "physics").glob("*.png"), key=lambda p: (p.name != "examples.png", p.name)
    )
    if not pictures:
        return None
    caption = {"examples.png": "Test scenes (top) and what the sensor delivered (bottom)."}
    figs = [html.figure(f"physics/{p.name}", caption.get(p.name, p.stem)) for p in pictures]
    return html.section("Physical layer", *figs)


def write_run_page(run_dir: Path) -> Path:
    """Write ``run_dir/index.html`` from what the folder holds; returns its path."""
    values = read_json(run_dir / "metrics.json")
    summary = read_json(run_dir / "analysis" / "analysis.json")
    sections = [metrics_section(values)]
    if summary.get("diagnosis"):
        sections.append(html.section("Diagnosis", html.paragraph(summary["diagnosis"])))
    sections += figure_sections(run_dir, summary)
    sections.append(physics_section(run_dir))
    if (run_dir / "class_balance.csv").is_file():
        sections.append(
            html.section(
                "Data",
                html.paragraph("Images per class and split."),
                csv_table(run_dir / "class_balance.csv", "class"),
            )
        )
    status = values.get("status", "no metrics.json: unfinished or failed")
    subtitle = [*describe_run(run_dir, values), f"status: {status}"]
    page = html.page(
        f"deepimg run {'/'.join(run_dir.resolve().parts[-2:])}",
        subtitle,
        [s for s in sections if s is not None],
    )
    (run_dir / PAGE).write_text(page)
    return run_dir / PAGE
