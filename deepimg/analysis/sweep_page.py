"""The sweep's web page ``DIR/report/index.html`` (``templates/sweep.html.j2``): plots,
tables, links to every run's page.

Self-contained: the style is inline, images and links are relative paths, nothing is
fetched from the network, so the folder can be copied, zipped or served as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from deepimg.analysis import html
from deepimg.analysis.comparisons import Findings
from deepimg.analysis.html import Figure, Link, Table
from deepimg.analysis.run_page import PAGE, read_json
from deepimg.analysis.statistics import format_p


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
    findings: Findings = field(default_factory=Findings)  # answers, comparisons, notes
    designs: list[tuple[str, Path]] = field(default_factory=list)  # (run name, physics picture)


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


def run_link(run: Path, name: str, out: Path) -> Link:
    """The run's page when it has one, else its folder."""
    target = run / PAGE if (run / PAGE).is_file() else run
    return Link(html.relative(target, out), name)


def runs_table(report: SweepReport, out: Path) -> Table:
    header = ["run", *report.params, *report.metrics, "status", "learning curves"]
    rows, classes = [], []
    for name, (_, row) in zip(report.run_names, report.runs.iterrows(), strict=True):
        run = Path(row["run"])
        cells = [run_link(run, name, out), *(setting(row[p]) for p in report.params)]
        cells += [number(row[m]) for m in report.metrics]
        rows.append([*cells, row["status"], diagnosis(run)])
        classes.append("" if row["status"] == "completed" else "failed")
    return Table(header, rows, classes)


def failures_table(report: SweepReport, out: Path) -> Table | None:
    rows = [
        [run_link(Path(row["run"]), name, out), row["run"], report.last_log_lines.get(name, "")]
        for name, (_, row) in zip(report.run_names, report.runs.iterrows(), strict=True)
        if row["status"] != "completed"
    ]
    return Table(["run", "folder", "last line of its log"], rows) if rows else None


def differences_table(report: SweepReport) -> Table | None:
    diff = report.config_differences
    if diff.empty:
        return None
    values = diff.to_numpy(dtype=object)  # row by row, without pandas' upcast of ints to floats
    rows = [
        [name, *(setting(v) for v in row)] for name, row in zip(diff.index, values, strict=True)
    ]
    return Table(["run", *diff.columns], rows)


def comparisons_table(report: SweepReport) -> Table | None:
    """Every paired comparison: the difference with its 95% CI, the counts and the test."""
    rows = [
        [c.setting, c.reference, c.metric, f"{c.difference:+.4g}", f"[{c.low:+.4g}, {c.high:+.4g}]",
         str(c.seeds), f"{c.images:,}" if c.images else "", c.test, format_p(c.p),
         format_p(c.p_holm) if c.p_holm is not None else "", "yes" if c.shown else "no"]
        for c in report.findings.comparisons
    ]  # fmt: skip
    header = ["setting", "reference", "metric", "difference", "95% CI", "seeds", "images",
              "test", "p", "p (Holm)", "shown"]  # fmt: skip
    return Table(header, rows) if rows else None


def design_figures(report: SweepReport, out: Path) -> list[Figure]:
    return [Figure(html.relative(p, out), f"{name}: {p.stem}") for name, p in report.designs]


def versions_table(report: SweepReport) -> Table:
    rows = [[name, version] for name, version in report.versions.items()]
    rows.append(["deepimg git commit", report.commit or "not a git checkout"])
    return Table(["", "version"], rows)


def write_sweep_page(report: SweepReport, out: Path) -> Path:
    """Write ``out/index.html``; every image and link in it is relative to ``out``."""
    failed = int((report.runs["status"] != "completed").sum())
    swept = ", ".join(report.params) or "nothing"
    page = html.render(
        "sweep.html.j2",
        title="deepimg report",
        subtitle=[
            "runs from " + ", ".join(str(s) for s in report.sources),
            f"{len(report.runs)} runs ({failed} failed); swept: {swept}",
        ],
        answers=report.findings.answers,
        notes=report.findings.notes,
        summary_note="Mean ± standard deviation over seeds; n is the number of finished runs "
        "per setting. ★: the best, where its difference to the runner-up is shown (its 95% CI "
        "excludes 0).",
        comparisons=comparisons_table(report),
        designs=design_figures(report, out),
        summary=Table(report.summary_header, report.summary_rows),
        plots=[Figure(html.relative(f, out), f.stem.replace("_", " ")) for f in report.figures],
        runs=runs_table(report, out),
        failed=failures_table(report, out),
        differences=differences_table(report),
        versions=versions_table(report),
        stamp=datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    (out / PAGE).write_text(page)
    return out / PAGE
