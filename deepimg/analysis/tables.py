"""Console tables with rich."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

RUN_FACTS = ("epochs", "train_time_s", "n_params")


def headline(metrics: dict[str, Any]) -> list[str]:
    """The keys worth a glance, whatever the task: the test metrics (with their classical
    baselines), the validation value that sweepers optimise, then how long and how big."""
    tests = [k for k in metrics if k.startswith("test/")]
    tests.sort(key=lambda k: (k == "test/loss", k.endswith("_baseline")))
    objective = metrics.get("objective")  # runs made before it was recorded: any best value
    best = [objective] if objective else [k for k in metrics if str(k).endswith("_best")]
    return tests + best + list(RUN_FACTS)


def print_metrics(metrics: dict[str, Any], title: str) -> None:
    """The headline metrics of one run as a two-column table."""
    table = Table(show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in headline(metrics):
        if key in metrics and metrics[key] is not None:
            value = metrics[key]
            digits = 1 if key.endswith("_s") else 4  # seconds need no more
            table.add_row(key, f"{value:.{digits}f}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(f"[bold]{title}[/bold]")
    console.print(table)


def print_class_balance(balance: pd.DataFrame, title: str) -> None:
    """Images per class and split, with totals."""
    table = Table(header_style="bold")
    table.add_column("class")
    for split in balance.columns:
        table.add_column(split, justify="right")
    for name, row in balance.iterrows():
        table.add_row(str(name), *(str(int(v)) for v in row))
    table.add_row("[bold]total[/bold]", *(f"[bold]{int(v)}[/bold]" for v in balance.sum()))
    console = Console()
    console.print(f"[bold]{title}[/bold]")
    console.print(table)


def print_side_by_side(columns: dict[str, dict[str, Any]], title: str) -> None:
    """Test metrics of several models in columns (ensemble members, then the ensemble)."""
    table = Table(header_style="bold")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    keys = sorted({k for values in columns.values() for k in values if k.startswith("test/")})
    for key in keys:
        cells = [columns[name].get(key) for name in columns]
        table.add_row(key, *("" if v is None else f"{v:.4f}" for v in cells))
    console = Console()
    console.print(f"[bold]{title}[/bold]")
    console.print(table)
