"""The tables of a sweep: one row per run, one row per setting (mean, std and count over
seeds), the best of each metric, the config keys that differ, in CSV, Markdown and on the
terminal. Task-blind: metric names and directions come from the runs' ``metrics.json``.

A run here is a dict that ``deepimg.commands.report`` read from its folder: ``path``,
``sweep`` (the label of its sweep), ``overrides`` (key -> text), ``config`` (plain data,
never resolved), ``metrics`` (its metrics.json or None) and ``failure`` (why it did not
complete).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deepimg.analysis import markdown
from deepimg.config.compose import groups
from deepimg.config.received import select

SEED = "seed"
SWEEP = "sweep"  # the column naming each run's folder when several are compared


# The columns of a run's own 95% CI of a metric (``info/bits_per_pixel_low`` ...).
CI_ENDS = ("_low", "_high")


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
        # a run that estimates its own 95% CI (deepimg info) gives it beside the value
        row.update({f"{m}{end}": values[f"{m}{end}"] for m in metrics for end in CI_ENDS
                    if f"{m}{end}" in values})  # fmt: skip
        row["status"] = values.get("status", "failed") if run["metrics"] else "failed"
        row["error"] = run.get("failure", "") if row["status"] != "completed" else ""
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


def to_latex(summary: pd.DataFrame, metrics: list[str], best: dict | None = None) -> str:
    """The summary as a booktabs table for a paper (``summary.tex``): ``mean ± std`` cells,
    the best bold; every value escaped for LaTeX."""
    columns = display_columns(summary)
    rows = [[cell(row, c, metrics, best) for c in columns] for _, row in summary.iterrows()]
    frame = pd.DataFrame(rows, columns=columns).map(lambda v: v.replace(" ★", "†"))
    styler = frame.style.hide(axis="index").format(escape="latex")
    styler = styler.format_index(escape="latex", axis="columns")
    return styler.to_latex(hrules=True, column_format="r" * len(columns))


def display_columns(summary: pd.DataFrame) -> list[str]:
    return [c for c in summary.columns if not c.endswith("_std")]


def legend(summary: pd.DataFrame) -> str:
    """What a cell's ± means, where rows pool several seeds: the spread, not the CI."""
    if "n" not in summary or not (pd.to_numeric(summary["n"], errors="coerce") > 1).any():
        return ""
    return (
        "Each cell: mean ± standard deviation over the n seeds; the best is starred where its "
        "difference to the runner-up is shown. The 95% CIs are in the answers and on the plots."
    )


def to_markdown(
    summary: pd.DataFrame,
    failed: pd.DataFrame,
    metrics: list[str],
    best: dict | None = None,
    answers: list[str] | None = None,
) -> str:
    """The answers first, then the summary as a Markdown table; every value escaped (names
    come from anyone)."""
    columns = display_columns(summary)
    lines = [f"- {markdown.escape(a)}" for a in answers or []] + ([""] if answers else [])
    lines += ["| " + " | ".join(map(markdown.escape, columns)) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(markdown.escape(cell(row, c, metrics, best)) for c in columns) + " |"
        for _, row in summary.iterrows()
    ]
    if legend(summary):
        lines += ["", legend(summary)]
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
    answers: list[str] | None = None,
) -> None:
    """The answers, then the summary and the failed runs, on the terminal."""
    console = Console()
    for answer in answers or []:
        console.print(f"[bold]{escape(answer)}[/bold]", soft_wrap=True)  # one line each
    table = Table(title=title, header_style="bold", caption=legend(summary) or None)
    columns = display_columns(summary)
    for c in columns:
        table.add_column(escape(c), justify="right")
    for _, row in summary.iterrows():
        table.add_row(*(escape(cell(row, c, metrics, best)) for c in columns))
    console.print(table)
    for run, error in zip(failed["run"], failed["error"], strict=True):
        console.print(f"[red]failed[/red]: {escape(str(run))}: {escape(str(error))}")


def finished_runs(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """The completed runs, with metrics (and a run's own CI of them) as numbers: a missing
    or malformed one, from a received run folder, as NaN."""
    done = table[table["status"] == "completed"].copy()
    ends = [f"{m}{end}" for m in metrics for end in CI_ENDS if f"{m}{end}" in done]
    for column in [*metrics, *ends]:
        done[column] = pd.to_numeric(done[column], errors="coerce")
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


def task_metrics(runs: list[dict[str, Any]]) -> list[str]:
    """The default columns: each finished run's task metrics (``task_metrics`` in its
    metrics.json; for runs made before it was written, every ``test/`` metric but the loss),
    then their classical baselines where runs have them, in first-seen order."""
    names: list[str] = []
    for run in runs:
        values = run["metrics"] or {}
        if values.get("status") != "completed":
            continue
        if values.get("task_metrics"):
            own = str(values["task_metrics"]).split(",")
        else:
            own = [k for k in values if k.startswith("test/") and k != "test/loss"]
            own = [k for k in own if not k.endswith("_baseline")]
        found = own + [f"{m}_baseline" for m in own if f"{m}_baseline" in values]
        names += [m for m in found if m not in names]
    return sorted(names, key=lambda m: m.endswith("_baseline"))  # stable: baselines last


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
