"""The sweep's web page ``DIR/report/index.html``: plots, tables, links to every run's page.

Self-contained: the style is inline, images and links are relative paths, nothing is
fetched from the network, so the folder can be copied, zipped or served as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from deepimg.analysis import html
from deepimg.analysis.html import Html
from deepimg.analysis.run_page import PAGE, read_json


@dataclass
class SweepReport:
    """What the page shows; ``deepimg.commands.report`` computes it."""

    sources: list[Path]  # the folders given to `deepimg report`
    params: list[str]  # swept parameters, as table columns
    metrics: list[str]
    summary_header: list[str]  # the summary table, formatted (mean ± std per setting)
    summary_rows: list[list[str]]
    runs: pd.DataFrame  # one row per run: params, metrics, status, run (its folder)
    run_names: list[str]  # each run's short name, in the order of `runs`
    config_differences: pd.DataFrame  # index: run names; columns: config keys that differ
    last_log_lines: dict[str, str]  # failed run's name -> the last line of its log
    figures: list[Path]  # PNGs inside the report folder
    versions: dict[str, str]
    commit: str | None


def number(value: object) -> str:
    """A metric: four decimals; missing: empty."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return "" if value is None else str(value)


def setting(value: object) -> str:
    """A parameter or config value as written: 0.5, 1e-05, 4, quantize."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    return "" if value is None else str(value)


def diagnosis(run: Path) -> str:
    """The learning-curve diagnosis the run's analysis wrote, if any."""
    return read_json(run / "analysis" / "analysis.json").get("diagnosis", "")


def run_link(run: Path, name: str, out: Path) -> Html:
    """The run's page when it has one, else its folder."""
    target = run / PAGE if (run / PAGE).is_file() else run
    return html.link(html.relative(target, out), name)


def runs_section(report: SweepReport, out: Path) -> Html:
    header = ["run", *report.params, *report.metrics, "status", "learning curves"]
    rows, classes = [], []
    for name, (_, row) in zip(report.run_names, report.runs.iterrows(), strict=True):
        run = Path(row["run"])
        cells = [run_link(run, name, out), *(setting(row[p]) for p in report.params)]
        cells += [number(row[m]) for m in report.metrics]
        rows.append([*cells, row["status"], diagnosis(run)])
        classes.append("" if row["status"] == "completed" else "failed")
    note = html.paragraph("Each run's name links to its own page of figures.", note=True)
    return html.section(f"Runs ({len(rows)})", note, html.table(header, rows, classes))


def failures_section(report: SweepReport, out: Path) -> Html | None:
    rows = [
        [run_link(Path(row["run"]), name, out), row["run"], report.last_log_lines.get(name, "")]
        for name, (_, row) in zip(report.run_names, report.runs.iterrows(), strict=True)
        if row["status"] != "completed"
    ]
    if not rows:
        return None
    note = "Runs without metrics.json: failed, interrupted or still running."
    return html.section(
        f"Failed runs ({len(rows)})",
        html.paragraph(note, note=True),
        html.table(["run", "folder", "last line of its log"], rows),
    )


def differences_section(report: SweepReport) -> Html:
    diff = report.config_differences
    if diff.empty:
        return html.section("Config differences", html.paragraph("All runs have the same config."))
    values = diff.to_numpy(dtype=object)  # row by row, without pandas' upcast of ints to floats
    rows = [
        [name, *(setting(v) for v in row)] for name, row in zip(diff.index, values, strict=True)
    ]
    note = html.paragraph(
        "Every key of .hydra/config.yaml whose value is not the same in all runs.", note=True
    )
    return html.section("Config differences", note, html.table(["run", *diff.columns], rows))


def provenance_section(report: SweepReport) -> Html:
    rows = [[name, version] for name, version in report.versions.items()]
    rows.append(["deepimg git commit", report.commit or "not a git checkout"])
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    return html.section(
        "Versions",
        html.paragraph(f"Report made {stamp} with:", note=True),
        html.table(["", "version"], rows),
    )


def write_sweep_page(report: SweepReport, out: Path) -> Path:
    """Write ``out/index.html``; every image and link in it is relative to ``out``."""
    failed = int((report.runs["status"] != "completed").sum())
    subtitle = [
        "runs from " + ", ".join(str(s) for s in report.sources),
        f"{len(report.runs)} runs ({failed} failed); swept: {', '.join(report.params) or 'nothing'}",
    ]
    plots = [html.figure(html.relative(f, out), f.stem.replace("_", " ")) for f in report.figures]
    caption = "Mean ± standard deviation over seeds; n is the number of finished runs per setting."
    sections = [
        html.section(
            "Summary",
            html.paragraph(caption, note=True),
            html.table(report.summary_header, report.summary_rows),
        ),
        html.section("Metrics against the swept parameters", html.grid(*plots, min_width=340))
        if plots
        else None,
        runs_section(report, out),
        failures_section(report, out),
        differences_section(report),
        provenance_section(report),
    ]
    page = html.page("deepimg report", subtitle, [s for s in sections if s is not None])
    (out / PAGE).write_text(page)
    return out / PAGE
