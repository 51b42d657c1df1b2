"""``deepimg report``: one table, plots and a web page for a sweep, a folder of sweeps,
or several sweeps side by side.

Runs are found by their ``.hydra/overrides.yaml``. The swept keys are those whose value
differs between runs; their typed values come from each run's ``.hydra/config.yaml``.
Runs without ``metrics.json`` are failed runs: they are listed, never silently dropped.
Given several folders (``deepimg report A B``), each run also gets a ``sweep`` column
naming its folder, so the sweeps share axes in the plots and tables.
"""

from __future__ import annotations

import io
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deepimg.analysis.comparisons import Findings, find
from deepimg.analysis.information_figures import BITS, information_answer, information_plot
from deepimg.analysis.progress import run_steps
from deepimg.analysis.provenance import git_commit, versions
from deepimg.analysis.search_figures import TRIAL, search_jobs
from deepimg.analysis.spreadsheets import write_csv
from deepimg.analysis.sweep_figures import heatmap_jobs, metric_plot_jobs, slug
from deepimg.analysis.sweep_page import SweepReport, write_sweep_page
from deepimg.analysis.sweep_tables import (
    SWEEP,
    best_rows,
    cell,
    column_names,
    config_differences,
    display_columns,
    finished_runs,
    is_lower_better,
    lower_is_better,
    print_table,
    runs_table,
    summarize,
    swept_keys,
    task_metrics,
    to_latex,
    to_markdown,
)
from deepimg.commands.runs import PER_IMAGE, find_runs, read_metrics, writable_folder
from deepimg.config.overrides import OVERRIDE
from deepimg.config.received import ReceivedFileError, read_bytes, read_text, read_yaml
from deepimg.errors import UserError

METRICS_FILE = "metrics.json"
RUN_PARTS = {".hydra", "checkpoints", "physics", "analysis"}  # folders deepimg writes in a run
LOGS = ("error.log", "train.log")  # the logs deepimg writes in a run folder, read in this order


def sweep_labels(dirs: list[Path]) -> list[str]:
    """The shortest trailing parts of the folders' paths that tell them apart."""
    parts = [d.resolve().parts for d in dirs]
    for k in range(1, max(len(p) for p in parts) + 1):
        labels = ["/".join(p[-k:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [str(d) for d in dirs]  # the same folder given twice


def load_runs(dirs: list[Path]) -> list[dict[str, Any]]:
    """Each run as {path, sweep (its folder's label), overrides (key -> text), config (plain
    data), metrics or None, and for a run that did not complete, failure (why)}."""
    runs = []
    for root, label in zip(dirs, sweep_labels(dirs), strict=True):
        if not root.is_dir():
            raise UserError(
                f"'{root}' does not exist or is not a folder; give a sweep folder such as outputs/multirun/<date>/<time>"
            )
        found = find_runs(root)
        if not found:
            raise UserError(
                f"no runs under '{root}' (no .hydra/overrides.yaml found); give a sweep folder"
            )
        for run in found:
            overrides, config, problem = read_run_files(run)
            metrics = read_metrics(run)
            if problem:  # listed as unreadable, with the reason; the others are still reported
                metrics = {"status": "unreadable", "error": problem}
            elif metrics is None and (
                (run / METRICS_FILE).exists() or (run / METRICS_FILE).is_symlink()
            ):
                metrics = {
                    "status": "unreadable",
                    "error": "metrics.json is not a JSON object in a regular file",
                }
            entry = {
                "path": run,
                "sweep": sweep_of(run, root, label),
                "overrides": overrides,
                "config": config,
                "metrics": metrics,
            }
            if (metrics or {}).get("status") != "completed":
                entry["failure"] = failure_line(entry)
            runs.append(entry)
    return runs


def sweep_of(run: Path, root: Path, label: str) -> str:
    """The label of the sweep a run belongs to: ``label`` for the folder given, extended by
    the path of the sweep (the folder with Hydra's ``multirun.yaml``) inside it when there
    is one below ``root``, so identical settings of different sweeps are never pooled as seeds."""
    for parent in run.parents:
        if parent == root or root not in parent.parents:
            return label
        if (parent / "multirun.yaml").is_file():
            return f"{label}/{parent.relative_to(root).as_posix()}"
    return label


def read_run_files(run: Path) -> tuple[dict[str, str], dict[str, Any], str | None]:
    """A run's overrides (key -> text) and config, and what was wrong with them, if anything.

    Files from a run folder are untrusted: they are read as plain data (interpolations such
    as ``${oc.env:TOKEN}`` stay as written, never resolved), only as regular files inside
    the run folder, within size and alias limits. Broken YAML, a mapping where a list
    belongs, or binary junk make the run unreadable, not the report."""
    try:
        lines = read_yaml(run / ".hydra" / "overrides.yaml", run) or []
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ValueError("overrides.yaml is not a list of key=value lines")
        pairs = (OVERRIDE.match(line.lstrip("+")) for line in lines)
        overrides = {m["key"]: m["value"] for m in pairs if m and not m["key"].startswith("hydra")}
        cfg_path = run / ".hydra" / "config.yaml"
        config = read_yaml(cfg_path, run) if cfg_path.exists() or cfg_path.is_symlink() else {}
        if not isinstance(config, dict):
            raise ValueError("config.yaml is not a mapping")
    except Exception as err:  # noqa: BLE001 - YAML and the file checks fail many ways
        return {}, {}, textwrap.shorten(f"unreadable .hydra/: {err}", 200)
    return overrides, config, None


def failure_line(run: dict[str, Any]) -> str:
    """Why a run did not complete: the error its metrics.json records, the signal that
    interrupted it (and how to resume), else its log's last line."""
    values = run["metrics"] or {}
    if values.get("status") == "interrupted":
        return (
            f"interrupted by {values.get('signal', 'a signal')} after {values.get('epochs', 0)} "
            f"epochs; resume with: deepimg train resume={run['path']}"
        )
    return str(values.get("error") or last_log_line(run["path"]))


def last_log_line(run: Path) -> str:
    """The last non-empty line of the logs deepimg writes in a run folder (``error.log``,
    the traceback of a failure; ``train.log``, Hydra's log of the job), or a note. Only
    those two names, only regular files inside the folder, and only their last MiB: a
    received folder may hold a symlink to a secret, or a FIFO, under any name."""
    for name in LOGS:
        log = run / name
        if not (log.exists() or log.is_symlink()):
            continue
        try:
            text = read_text(log, run)
        except ReceivedFileError as err:
            return f"({err})"
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            return textwrap.shorten(lines[-1], 300)
    return "(no log lines)"


def run_names(runs: list[dict[str, Any]], dirs: list[Path]) -> list[str]:
    """Each run's folder relative to the folder it was found under, prefixed by its sweep
    when several sweeps are compared."""
    names = []
    for run in runs:
        root = next(d for d in dirs if run["path"].resolve().is_relative_to(d.resolve()))
        name = run["path"].resolve().relative_to(root.resolve()).as_posix()
        names.append(f"{run['sweep']}/{name}" if len(dirs) > 1 else name)
    return names


def make_figures(
    done: pd.DataFrame,
    params: list[str],
    metrics: list[str],
    out: Path,
    lower: set[str],
    objective: str | None = None,
    points: pd.DataFrame | None = None,
) -> list[Path]:
    """Metric-vs-parameter plots and heatmaps, under a progress bar; ``lower`` names the
    metrics where lower is better. For a search (``objective`` given), its trial plots."""
    if objective:
        jobs = search_jobs(done, params, objective, out, is_lower_better(objective, lower))
        return run_steps("report", jobs)
    lower_better = {m for m in metrics if is_lower_better(m, lower)}
    jobs = metric_plot_jobs(done, params, metrics, out, lower_better, points)
    jobs += heatmap_jobs(done, params, metrics, out, lower_better)
    return run_steps("report", jobs)


def search_objective(dirs: list[Path], runs: list[dict[str, Any]]) -> str | None:
    """For a search (a sweep by Hydra's Optuna sweeper, as ``hydra/sweeper=search``), the
    validation metric it optimised (``val/acc_best``); None for a grid of runs."""
    if len(dirs) != 1 or not any("optuna" in sweeper_of(run["path"]).lower() for run in runs):
        return None
    done = [run["metrics"] for run in runs if (run["metrics"] or {}).get("status") == "completed"]
    objectives = {str(m["objective"]) for m in done if m.get("objective")}
    return objectives.pop() if len(objectives) == 1 else None


def sweeper_of(run: Path) -> str:
    """The ``_target_`` of the Hydra sweeper that made a run (its ``.hydra/hydra.yaml``), or
    "" where unreadable. The file may come from someone else: it is read, never built."""
    try:
        saved = read_yaml(run / ".hydra" / "hydra.yaml", run) or {}
        return str(saved["hydra"]["sweeper"]["_target_"])
    except (OSError, UserError, KeyError, TypeError):
        return ""


def trial_number(run: Path, index: int) -> int:
    """A search's trial is its job number: the run folder's name under Hydra's default subdir."""
    return int(run.name) if run.name.isdigit() else index


def write_page(
    runs: list[dict[str, Any]],
    dirs: list[Path],
    table: pd.DataFrame,
    summary: pd.DataFrame,
    params: list[str],
    metrics: list[str],
    figures: list[Path],
    out: Path,
    best: dict | None = None,
    findings: Findings | None = None,
) -> Path:
    """``out/index.html``: the page with the answers, the figures, the tables, each run's
    design and where they came from."""
    names = run_names(runs, dirs)
    columns = display_columns(summary)
    failed = [
        (name, run)
        for name, run in zip(names, runs, strict=True)
        if (run["metrics"] or {}).get("status") != "completed"
    ]
    page = SweepReport(
        sources=dirs,
        params=params,
        metrics=metrics,
        summary_header=columns,
        summary_rows=[
            [cell(row, c, metrics, best) for c in columns] for _, row in summary.iterrows()
        ],
        runs=table,
        run_names=names,
        config_differences=config_differences(runs, names),
        last_log_lines={name: run["failure"] for name, run in failed},
        figures=figures,
        versions=versions(),
        commit=git_commit(),
        findings=findings or Findings(),
        designs=designs(runs, names),
    )
    return write_sweep_page(page, out)


MAX_DESIGNS = 24  # runs whose physical design the page shows


def designs(runs: list[dict[str, Any]], names: list[str]) -> list[tuple[str, Path]]:
    """Each finished run's physical design as its run saved it (``physics/<map>.png``, the
    examples left out), as (run name, picture), for the first ``MAX_DESIGNS`` runs."""
    found = []
    for name, run in zip(names, runs, strict=True):
        if (run["metrics"] or {}).get("status") != "completed":
            continue
        pictures = sorted(
            p for p in (run["path"] / "physics").glob("*.png") if p.name != "examples.png"
        )
        found += [(name, p) for p in pictures if p.is_file() and not p.is_symlink()]
        if len({n for n, _ in found}) >= MAX_DESIGNS:
            break
    return found


MAX_PER_IMAGE_BYTES = 64 * 2**20  # a few arrays of one value per test image


def per_image(runs: list[dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    """Each finished run's ``per_image.npz`` (by run folder), read as a received file: a
    regular file inside the run, capped in size, no pickled objects."""
    records = {}
    for run in runs:
        path = run["path"] / PER_IMAGE
        if (run["metrics"] or {}).get("status") != "completed" or not path.is_file():
            continue
        try:
            raw = read_bytes(path, run["path"], MAX_PER_IMAGE_BYTES)
            with np.load(io.BytesIO(raw), allow_pickle=False) as saved:
                records[str(run["path"])] = {k: saved[k] for k in saved.files}
        except (ReceivedFileError, ValueError, OSError, zipfile.BadZipFile):
            continue  # compared on the seeds' means instead
    return records


def check_out(out: Path) -> Path:
    """``out``, unless writing the report there would write over a run's own files: a run
    folder (its ``index.html``), one of a run's parts (``analysis/``, ``physics/``, ...), or a
    folder that holds runs (a sweep, whose runs' pages link to each other)."""
    holds_run = [out / ".hydra", out / METRICS_FILE]
    in_run = out.name in RUN_PARTS and (out.parent / ".hydra").is_dir()
    if any(p.exists() for p in holds_run) or in_run or (out.is_dir() and find_runs(out)):
        raise UserError(
            f"--out {out} holds runs (or is part of one), whose files the report would write "
            "over; give a new folder, or leave --out out for DIR/report"
        )
    return out


def default_out(dirs: list[Path]) -> Path:
    if len(dirs) == 1:
        return dirs[0] / "report"
    others = sweep_labels(dirs)[1:]
    return dirs[0] / ("report-vs-" + "+".join(label.replace("/", "_") for label in others))


def check_metrics(metrics: list[str], runs: list[dict[str, Any]]) -> None:
    """Every asked-for metric must be in some run's metrics.json; else name those that are."""
    numeric = {
        k for run in runs for k, v in (run["metrics"] or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }  # fmt: skip
    unknown = [m for m in metrics if m not in numeric]
    if unknown and numeric:
        raise UserError(
            f"no run has the metric {', '.join(repr(m) for m in unknown)}; available: "
            + ", ".join(sorted(numeric))
        )


def all_have(runs: list[dict[str, Any]], key: str) -> bool:
    """Whether every completed run's metrics.json has ``key`` (and there is one)."""
    done = [run["metrics"] for run in runs if (run["metrics"] or {}).get("status") == "completed"]
    return bool(done) and all(key in m for m in done)


def report(
    dirs: list[Path],
    metrics: list[str] | None = None,
    out: Path | None = None,
    references: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Scan ``dirs``; write ``<out>/summary.csv``, ``runs.csv``, ``summary.md``, plots and
    ``index.html``; print the table. ``out`` defaults to ``<first dir>/report``, or for a
    comparison ``<first dir>/report-vs-<the others>``, which leaves each sweep's own report be."""
    runs = load_runs(dirs)
    if metrics:
        check_metrics(metrics, runs)  # asked for by name: it must exist somewhere
    metrics = metrics or task_metrics(runs)
    objective = search_objective(dirs, runs)
    if objective and objective not in metrics:
        metrics = [*metrics, objective]  # a search: its trials are judged by the objective
    if not objective and BITS not in metrics and all_have(runs, BITS):
        metrics = [*metrics, BITS]  # trained through a noisy layer: bits per pixel beside
    keys = swept_keys(runs)
    by_sweep = len({run["sweep"] for run in runs}) > 1
    params = [SWEEP] * by_sweep + [column_names(keys)[k] for k in keys]
    table = runs_table(runs, keys, metrics, by_sweep)
    if objective:  # one row per trial, however close two trials' values
        table.insert(0, TRIAL, [trial_number(run["path"], i) for i, run in enumerate(runs)])
        params = [TRIAL, *params]
    failed = table[table["status"] != "completed"]
    if len(failed) == len(table):
        raise UserError(
            f"none of the {len(table)} runs under {', '.join(map(str, dirs))} has finished (no metrics.json)"
        )
    summary = summarize(table, params, metrics)
    out = writable_folder(check_out(out or default_out(dirs)), "--out")
    write_csv(summary, out / "summary.csv", index=False)
    write_csv(table, out / "runs.csv", index=False)
    lower = lower_is_better(runs)
    lower_better = {m for m in metrics if is_lower_better(m, lower)}
    try:
        findings = (
            Findings()
            if objective
            else find(table, params, metrics, per_image(runs), lower_better, references)
        )
    except ValueError as err:  # an unknown --reference value
        raise UserError(str(err)) from None
    best = {
        m: r for m, r in best_rows(summary, metrics, lower).items() if findings.best_shown.get(m)
    }
    done = finished_runs(table, metrics)
    ranking = information_answer(done, params, metrics[0]) if not objective else None
    findings.answers += [ranking] if ranking else []
    answers = findings.answers + [f"not compared: {note}" for note in findings.notes]
    (out / "summary.md").write_text(to_markdown(summary, failed, metrics, best, answers))
    (out / "summary.tex").write_text(to_latex(summary, metrics, best))
    figures = make_figures(done, params, metrics, out, lower, objective, findings.points)
    if ranking:
        figures.append(
            information_plot(done, params, metrics[0], out / f"{slug(metrics[0])}_vs_bits.png")
        )
    page = write_page(runs, dirs, table, summary, params, metrics, figures, out, best, findings)
    what = f"searched for the best {objective}" if objective else "swept"
    print_table(
        summary,
        failed,
        metrics,
        title=f"{len(table)} runs, {what}: {', '.join(params) or 'nothing'}",
        best=best,
        answers=answers,
    )
    print(f"report: {page} (and summary.csv, summary.md, {len(figures)} plots in {out})")
    return summary
