"""``deepimg report``: one table, plots and a Markdown summary for a sweep (or a folder of sweeps).

Runs are found by their ``.hydra/overrides.yaml``. The swept keys are those whose value
differs between runs; their typed values come from each run's ``.hydra/config.yaml``.
Runs without ``metrics.json`` are failed runs: they are listed, never silently dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from omegaconf import OmegaConf
from rich.console import Console
from rich.table import Table

from deepimg.config import groups
from deepimg.errors import UserError
from deepimg.overrides import OVERRIDE
from deepimg.runs import find_runs, read_metrics

SEED = "seed"


def load_runs(dirs: list[Path]) -> list[dict[str, Any]]:
    """Each run as {path, overrides (key -> text), config, metrics or None}."""
    runs = []
    for root in dirs:
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
            lines = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text()) or []
            pairs = (OVERRIDE.match(line.lstrip("+")) for line in lines)
            overrides = {
                m["key"]: m["value"] for m in pairs if m and not m["key"].startswith("hydra")
            }
            cfg_path = run / ".hydra" / "config.yaml"
            config = OmegaConf.load(cfg_path) if cfg_path.is_file() else OmegaConf.create()
            runs.append(
                {
                    "path": run,
                    "overrides": overrides,
                    "config": config,
                    "metrics": read_metrics(run),
                }
            )
    return runs


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
    value = OmegaConf.select(run["config"], key, default=run["overrides"].get(key))
    if OmegaConf.is_config(value):
        value = str(OmegaConf.to_container(value))
    return value


def runs_table(runs: list[dict[str, Any]], keys: list[str], metrics: list[str]) -> pd.DataFrame:
    """One row per run: the swept parameters (by column name), the metrics, status and path."""
    names, group_names = column_names(keys), set(groups())
    rows = []
    for run in runs:
        row = {names[k]: typed_value(run, k, group_names) for k in keys}
        values = run["metrics"] or {}
        row.update({m: values.get(m) for m in metrics})
        row["status"] = values.get("status", "failed") if run["metrics"] else "failed"
        row["run"] = str(run["path"])
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean, std and count of each metric per setting of the swept parameters (seeds pooled)."""
    done = table[table["status"] == "completed"].copy()
    by = [p for p in params if p != SEED]
    for m in metrics:
        done[m] = pd.to_numeric(done[m], errors="coerce")
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


def cell(row: pd.Series, column: str, metrics: list[str]) -> str:
    """A metric as mean (± std); a parameter as written."""
    value = row[column]
    if column not in metrics:
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if pd.isna(value):
        return ""
    std = row.get(f"{column}_std")
    return f"{value:.4f}" + (f" ± {std:.4f}" if std is not None and not pd.isna(std) else "")


def display_columns(summary: pd.DataFrame) -> list[str]:
    return [c for c in summary.columns if not c.endswith("_std")]


def to_markdown(summary: pd.DataFrame, failed: pd.DataFrame, metrics: list[str]) -> str:
    columns = display_columns(summary)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(cell(row, c, metrics) for c in columns) + " |"
        for _, row in summary.iterrows()
    ]
    if len(failed):
        lines += ["", f"**Failed runs ({len(failed)})**, without metrics.json:", ""]
        lines += [f"- `{run}`" for run in failed["run"]]
    return "\n".join(lines) + "\n"


def print_table(
    summary: pd.DataFrame, failed: pd.DataFrame, metrics: list[str], title: str
) -> None:
    table = Table(title=title, header_style="bold")
    columns = display_columns(summary)
    for c in columns:
        table.add_column(c, justify="right")
    for _, row in summary.iterrows():
        table.add_row(*(cell(row, c, metrics) for c in columns))
    console = Console()
    console.print(table)
    for run in failed["run"]:
        console.print(f"[red]failed[/red] (no metrics.json): {run}")


def plot_metrics(
    summary: pd.DataFrame, params: list[str], metrics: list[str], out: Path
) -> list[Path]:
    """One PNG per metric and numeric swept parameter: mean with ± std error bars,
    one line per setting of the other swept parameters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    numeric = [p for p in params if p != SEED and pd.api.types.is_numeric_dtype(summary[p])]
    for x in numeric:
        others = [p for p in params if p not in (x, SEED)]
        for m in metrics:
            fig, ax = plt.subplots(figsize=(5, 3.6))
            lines = summary.groupby(others, dropna=False) if others else [((), summary)]
            for label, part in lines:
                part = part.sort_values(x)
                std = part.get(f"{m}_std")
                name = ", ".join(
                    f"{k}={v}"
                    for k, v in zip(
                        others, label if isinstance(label, tuple) else (label,), strict=False
                    )
                )
                ax.errorbar(part[x], part[m], yerr=std, marker="o", capsize=3, label=name or None)
            ax.set_xlabel(x)
            ax.set_ylabel(m)
            ax.grid(alpha=0.3)
            if others:
                ax.legend(fontsize=7)
            fig.tight_layout()
            path = (
                out
                / f"{re.sub(r'[^A-Za-z0-9]+', '_', m)}_vs_{re.sub(r'[^A-Za-z0-9]+', '_', x)}.png"
            )
            fig.savefig(path, dpi=150)
            plt.close(fig)
            paths.append(path)
    return paths


def report(dirs: list[Path], metrics: list[str], out: Path | None = None) -> pd.DataFrame:
    """Scan ``dirs``, write ``<out>/summary.csv``, ``summary.md`` and plots; print the table."""
    runs = load_runs(dirs)
    keys = swept_keys(runs)
    params = [column_names(keys)[k] for k in keys]
    table = runs_table(runs, keys, metrics)
    failed = table[table["status"] != "completed"]
    if len(failed) == len(table):
        raise UserError(
            f"none of the {len(table)} runs under {', '.join(map(str, dirs))} has finished (no metrics.json)"
        )
    summary = summarize(table, params, metrics)
    out = out or dirs[0] / "report"
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "summary.csv", index=False)
    table.to_csv(out / "runs.csv", index=False)
    (out / "summary.md").write_text(to_markdown(summary, failed, metrics))
    plots = plot_metrics(summary, params, metrics, out)
    print_table(
        summary,
        failed,
        metrics,
        title=f"{len(table)} runs, swept: {', '.join(params) or 'nothing'}",
    )
    print(f"report: {out} (summary.csv, summary.md, {len(plots)} plots)")
    return summary
