"""A rich progress bar over a list of named steps (figures take seconds each)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

T = TypeVar("T")


def run_steps(title: str, steps: list[tuple[str, Callable[[], T]]]) -> list[T]:
    """Call each step in order under one bar that names the step running; returns their results.

    The bar is transient: it disappears when done, leaving the console to the results.
    """
    columns = (
        TextColumn(f"[bold]{title}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    results = []
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("", total=len(steps))
        for description, step in steps:
            progress.update(task, description=description)
            results.append(step())
            progress.advance(task)
    return results
