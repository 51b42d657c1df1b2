"""``deepimg report``: one table, plots and a web page for a sweep, a folder of sweeps,
or several sweeps side by side.

Runs are found by their ``.hydra/overrides.yaml``. The swept keys are those whose value
differs between runs; their typed values come from each run's ``.hydra/config.yaml``.
Runs without ``metrics.json`` are failed runs: they are listed, never silently dropped.
Given several folders (``deepimg report A B``), each run also gets a ``sweep`` column
naming its folder, so the sweeps share axes in the plots and tables.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deepimg.analysis import markdown
from deepimg.analysis.progress import run_steps
from deepimg.analysis.provenance import git_commit, versions
from deepimg.analysis.search_figures import TRIAL, search_jobs
from deepimg.analysis.spreadsheets import write_csv
from deepimg.analysis.sweep_figures import heatmap_jobs, metric_plot_jobs
from deepimg.analysis.sweep_page import SweepReport, write_sweep_page
from deepimg.commands.runs import find_runs, read_metrics, writable_folder
from deepimg.config.compose import groups
from deepimg.config.overrides import OVERRIDE
from deepimg.config.received import ReceivedFileError, read_text, read_yaml, select
from deepimg.errors import UserError

SEED = "seed"
SWEEP = "sweep"  # the column naming each run's folder when several are compared
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
    """Each run as {path, sweep (its folder's label), overrides (key -> text), config,
    metrics or None}."""
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
            sweep = sweep_of(run, root, label)
            runs.append(
                {
                    "path": run,
                    "sweep": sweep,
                    "overrides": overrides,
                    "config": config,
                    "metrics": metrics,
                }  # fmt: skip
            )
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


def swept_keys(runs: list[dict[str, Any]]) -> list[str]:
    """Override keys whose value differs between runs, in the order they first appear."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run["overrides"] if k not in keys]
    return [k for k in keys if len({run["overrides"].get(k) for run in runs}) > 1]


def column_names(keys: list[str]) -> dict[str, str]:
    """The short name (last component) of each key where that is unambiguous, else the full key."""
    short = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: s if short.count(s) == 1 else k for k, s in zip(keys, short, strict=True)}


def typed_value(run: dict[str, Any], key: str, group_names: set[str]) -> Any:
    if key in group_names:
        return run["overrides"].get(key)
    value = select(run["config"], key, default=run["overrides"].get(key))
    return str(value) if isinstance(value, (dict, list)) else value


def runs_table(
    runs: list[dict[str, Any]], keys: list[str], metrics: list[str], by_sweep: bool = False
) -> pd.DataFrame:
    """One row per run: its sweep (when ``by_sweep``), the swept parameters (by column
    name), the metrics, status, why it did not complete (``error``) and path."""
    names, group_names = column_names(keys), set(groups())
    rows = []
    for run in runs:
        row = {SWEEP: run["sweep"]} if by_sweep else {}
        row.update({names[k]: typed_value(run, k, group_names) for k in keys})
        values = run["metrics"] or {}
        row.update({m: values.get(m) for m in metrics})
        row["status"] = values.get("status", "failed") if run["metrics"] else "failed"
        row["error"] = failure_line(run) if row["status"] != "completed" else ""
        row["run"] = str(run["path"])
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean, std and count of each metric per setting of the swept parameters (seeds pooled)."""
    done = finished_runs(table, metrics)
    by = [p for p in params if p != SEED]
    if not by:
        done["_all"] = "all"
        by = ["_all"]
    grouped = done.groupby(by, dropna=False, sort=True)
    summary = grouped[metrics].mean()
    if grouped.size().max() > 1:
        stds = grouped[metrics].std().add_suffix("_std")
        summary = pd.concat([summary, stds], axis=1)[[c for m in metrics for c in (m, f"{m}_std")]]
        summary["n"] = grouped.size()
    summary = summary.reset_index()
    return summary.drop(columns=["_all"], errors="ignore")


def cell(row: pd.Series, column: str, metrics: list[str], best: dict | None = None) -> str:
    """A metric as mean (± std), starred in the best row (``best``: metric -> row index);
    a parameter as written."""
    value = row[column]
    if column not in metrics:
        if isinstance(value, float):  # a searched value such as 2.4208472637456366
            return str(int(value)) if value.is_integer() else f"{value:.4g}"
        return str(value)
    if pd.isna(value):
        return ""
    std = row.get(f"{column}_std")
    text = f"{value:.4f}" + (f" ± {std:.4f}" if std is not None and not pd.isna(std) else "")
    return text + (" ★" if best and best.get(column) == row.name else "")


def display_columns(summary: pd.DataFrame) -> list[str]:
    return [c for c in summary.columns if not c.endswith("_std")]


def to_markdown(
    summary: pd.DataFrame, failed: pd.DataFrame, metrics: list[str], best: dict | None = None
) -> str:
    """The summary as a Markdown table; every value escaped (names come from anyone)."""
    columns = display_columns(summary)
    lines = ["| " + " | ".join(map(markdown.escape, columns)) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(markdown.escape(cell(row, c, metrics, best)) for c in columns) + " |"
        for _, row in summary.iterrows()
    ]
    if len(failed):
        lines += ["", f"**Failed runs ({len(failed)})**, with why:", ""]
        lines += [
            f"- {markdown.escape(run)}: {markdown.escape(error)}"
            for run, error in zip(failed["run"], failed["error"], strict=True)
        ]
    return "\n".join(lines) + "\n"


def print_table(
    summary: pd.DataFrame,
    failed: pd.DataFrame,
    metrics: list[str],
    title: str,
    best: dict | None = None,
) -> None:
    table = Table(title=title, header_style="bold")
    columns = display_columns(summary)
    for c in columns:
        table.add_column(escape(c), justify="right")
    for _, row in summary.iterrows():
        table.add_row(*(escape(cell(row, c, metrics, best)) for c in columns))
    console = Console()
    console.print(table)
    for run, error in zip(failed["run"], failed["error"], strict=True):
        console.print(f"[red]failed[/red]: {escape(str(run))}: {escape(str(error))}")


def finished_runs(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """The completed runs, with metrics as numbers (a missing one as NaN)."""
    done = table[table["status"] == "completed"].copy()
    for m in metrics:
        done[m] = pd.to_numeric(done[m], errors="coerce")
    return done


def flat_config(config: Any, prefix: str = "") -> dict[str, Any]:
    """A config as {dotted key: leaf value}, without Hydra's own keys and the output path."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if path in ("hydra", "paths"):
            continue
        if isinstance(value, dict) and value:
            flat.update(flat_config(value, path + "."))
        else:
            flat[path] = value
    return flat


def config_differences(runs: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    """Rows: runs; columns: the config keys whose value is not the same in every run."""
    flats = [flat_config(run["config"]) for run in runs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    differing = [k for k in keys if len({repr(flat.get(k)) for flat in flats}) > 1]
    rows = [{k: flat.get(k) for k in differing} for flat in flats]
    return pd.DataFrame(rows, index=pd.Index(names, name="run"), columns=differing)


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
) -> list[Path]:
    """Metric-vs-parameter plots and heatmaps, under a progress bar; ``lower`` names the
    metrics where lower is better. For a search (``objective`` given), its trial plots."""
    if objective:
        jobs = search_jobs(done, params, objective, out, is_lower_better(objective, lower))
        return run_steps("report", jobs)
    lower_better = {m for m in metrics if is_lower_better(m, lower)}
    jobs = metric_plot_jobs(done, params, metrics, out, lower_better)
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
) -> Path:
    """``out/index.html``: the page with the figures, the tables and where they came from."""
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
        last_log_lines={name: failure_line(run) for name, run in failed},
        figures=figures,
        versions=versions(),
        commit=git_commit(),
    )
    return write_sweep_page(page, out)


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


CLASSIFY_METRICS = ["test/acc", "test/f1", "test/auroc"]  # runs made before metrics.json named them


def task_metrics(runs: list[dict[str, Any]]) -> list[str]:
    """The default columns: each finished run's task metrics (``task_metrics`` in its
    metrics.json), then their classical baselines where runs have them, in first-seen order."""
    names: list[str] = []
    for run in runs:
        values = run["metrics"] or {}
        if values.get("status") != "completed":
            continue
        own = str(values.get("task_metrics") or ",".join(CLASSIFY_METRICS)).split(",")
        found = own + [f"{m}_baseline" for m in own if f"{m}_baseline" in values]
        names += [m for m in found if m not in names]
    return sorted(names, key=lambda m: m.endswith("_baseline"))  # stable: baselines last


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


def lower_is_better(runs: list[dict[str, Any]]) -> set[str]:
    """Metrics where lower is better (``lower_is_better`` in the runs' metrics.json: ``mse``,
    ``error_px``; losses), with their baselines; all others are higher-is-better."""
    lower = set()
    for run in runs:
        lower.update(
            m for m in str((run["metrics"] or {}).get("lower_is_better") or "").split(",") if m
        )
    return lower


def is_lower_better(metric: str, lower: set[str]) -> bool:
    """``lower`` names test metrics; a validation objective (``val/error_px_best``) follows
    its test metric."""
    if metric.startswith("val/") and metric.endswith("_best"):
        metric = "test/" + metric.removeprefix("val/").removesuffix("_best")
    return metric.removesuffix("_baseline") in lower or metric.endswith("/loss")


def best_rows(summary: pd.DataFrame, metrics: list[str], lower: set[str]) -> dict[str, object]:
    """The summary row index of the best mean of each metric, in its direction."""
    best = {}
    for m in metrics:
        values = pd.to_numeric(summary[m], errors="coerce") if m in summary else None
        if values is not None and values.nunique() > 1:  # a tie has no best
            best[m] = values.idxmin() if is_lower_better(m, lower) else values.idxmax()
    return best


def report(
    dirs: list[Path], metrics: list[str] | None = None, out: Path | None = None
) -> pd.DataFrame:
    """Scan ``dirs``; write ``<out>/summary.csv``, ``runs.csv``, ``summary.md``, plots and
    ``index.html``; print the table. ``out`` defaults to ``<first dir>/report``, or for a
    comparison ``<first dir>/report-vs-<the others>``, which leaves each sweep's own report be."""
    runs = load_runs(dirs)
    if metrics:
        check_metrics(metrics, runs)  # asked for by name: it must exist somewhere
    metrics = metrics or task_metrics(runs) or CLASSIFY_METRICS
    objective = search_objective(dirs, runs)
    if objective and objective not in metrics:
        metrics = [*metrics, objective]  # a search: its trials are judged by the objective
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
    best = best_rows(summary, metrics, lower)
    (out / "summary.md").write_text(to_markdown(summary, failed, metrics, best))
    figures = make_figures(finished_runs(table, metrics), params, metrics, out, lower, objective)
    page = write_page(runs, dirs, table, summary, params, metrics, figures, out, best)
    what = f"searched for the best {objective}" if objective else "swept"
    print_table(
        summary,
        failed,
        metrics,
        title=f"{len(table)} runs, {what}: {', '.join(params) or 'nothing'}",
        best=best,
    )
    print(f"report: {page} (and summary.csv, summary.md, {len(figures)} plots in {out})")
    return summary
