"""``deepimg train resume=DIR``: finish what an interrupted or killed run or sweep began.

A run continues from its ``checkpoints/last.ckpt`` (written after every epoch), with its own
``.hydra/config.yaml``, in its own folder; without a ``last.ckpt`` it starts again there. A
sweep resumes each job that has no completed ``metrics.json``, and runs the jobs that never
started (from the sweep's ``multirun.yaml``, for Hydra's basic sweeper) in the folders Hydra
would have given them. Completed runs are not touched. The only override accepted is
``trainer.max_epochs``, to train longer.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepimg.commands.runs import find_runs, read_metrics
from deepimg.errors import UserError

ACCEPTED = "trainer.max_epochs"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass
class Job:
    """One run to finish: its folder, its config, and the checkpoint it continues from."""

    run_dir: Path
    cfg: DictConfig
    last: Path | None


def max_epochs_override(overrides: list[str]) -> int | None:
    """The one override a resume accepts, ``trainer.max_epochs=N``, as N."""
    value = None
    for line in overrides:
        key, _, text = line.partition("=")
        if key != ACCEPTED:
            raise UserError(
                f"'{line}': a resumed run keeps its own config; the only override accepted "
                f"is {ACCEPTED}=N, to train longer"
            )
        if not text.isdigit() or int(text) < 1:
            raise UserError(f"'{line}': {ACCEPTED} must be a whole number >= 1")
        value = int(text)
    return value


def is_sweep(folder: Path) -> bool:
    return (folder / "multirun.yaml").is_file() or (
        not (folder / ".hydra").exists() and bool(find_runs(folder))
    )


def plan(target: Path, overrides: list[str]) -> tuple[list[Job], int]:
    """The jobs to run for ``resume=target``, and how many runs there completed already."""
    if not target.is_dir():
        raise UserError(f"resume='{target}': no such folder; give a run folder or a sweep folder")
    max_epochs = max_epochs_override(overrides)
    if (target / ".hydra" / "config.yaml").is_file():
        folders, unstarted = [target], []
    elif is_sweep(target):
        folders, unstarted = find_runs(target), unstarted_jobs(target)
    else:
        raise UserError(
            f"resume='{target}' holds no run (.hydra/config.yaml) and no sweep (multirun.yaml)"
        )
    jobs, completed = [], 0
    for folder in folders:
        metrics = read_metrics(folder)
        if metrics is not None and metrics.get("status") == "completed":
            completed += 1
        else:
            jobs.append(started_job(folder, max_epochs))
    for folder, job_overrides in unstarted:
        jobs.append(new_job(folder, job_overrides, max_epochs))
    return jobs, completed


def started_job(run_dir: Path, max_epochs: int | None) -> Job:
    """A run that began: its saved config, and its ``last.ckpt`` if it got that far."""
    from deepimg.config.trust import load_untrusted
    from deepimg.training.checkpoint import load_checkpoint

    saved = run_dir / ".hydra" / "config.yaml"
    if not saved.is_file():
        raise UserError(f"'{run_dir}' has no .hydra/config.yaml; it cannot be resumed")
    cfg = load_untrusted(saved, saved)
    last = run_dir / "checkpoints" / "last.ckpt"
    done = 0
    if last.is_file():
        done = int(load_checkpoint(last).get("epoch", -1)) + 1
    else:
        last = None
    return Job(run_dir, configure(cfg, run_dir, max_epochs, done), last)


def new_job(run_dir: Path, overrides: list[str], max_epochs: int | None) -> Job:
    """A job of the sweep that never started: composed now, in the folder Hydra would use,
    with the ``.hydra/`` files that Hydra would have written for it."""
    from deepimg.config import compose as config
    from deepimg.config.trust import check_targets

    # The overrides come from the sweep's multirun.yaml, a file someone may have sent:
    # what they compose is checked as any config read from a file is.
    composed = config.compose(overrides)
    check_targets(composed, run_dir.parent / "multirun.yaml")
    cfg = configure(composed, run_dir, max_epochs, 0)
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, hydra_dir / "config.yaml")
    OmegaConf.save(OmegaConf.create(list(overrides)), hydra_dir / "overrides.yaml")
    return Job(run_dir, cfg, None)


def configure(cfg: DictConfig, run_dir: Path, max_epochs: int | None, done: int) -> DictConfig:
    from deepimg.config import compose as config

    OmegaConf.set_struct(cfg, False)
    cfg.paths.output_dir = str(run_dir)  # saved as ${hydra:runtime.output_dir}
    if max_epochs is not None:
        if max_epochs < done:
            raise UserError(
                f"{ACCEPTED}={max_epochs} is fewer than the {done} epochs '{run_dir}' has "
                "completed; give at least that many"
            )
        cfg.trainer.max_epochs = max_epochs
    config.check_config(cfg)
    return cfg


def unstarted_jobs(sweep: Path) -> list[tuple[Path, list[str]]]:
    """Jobs of the sweep with no folder yet: Hydra makes a job's folder when the job starts,
    so an interrupted sweep has none for them. Found from the sweep's own ``multirun.yaml``
    where Hydra's basic sweeper ran it, in its job numbering."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from deepimg.config.compose import one_line

    path = sweep / "multirun.yaml"
    if not path.is_file():
        return []
    try:
        hydra = OmegaConf.load(path).hydra  # data only: nothing in it is instantiated
        task_overrides = [str(o) for o in hydra.overrides.task]
        sweeper, subdir = hydra.sweeper._target_, OmegaConf.to_container(hydra.sweep)["subdir"]
    except Exception as err:  # noqa: BLE001 - a broken file: say which, resume what exists
        logging.getLogger(__name__).warning(
            "%s is unreadable (%s); resuming the started jobs", path, err
        )
        return []
    if sweeper != BASIC_SWEEPER or subdir != "${hydra.job.num}":
        return []
    try:
        parsed = OverridesParser.create().parse_overrides(task_overrides)
    except HydraException as err:
        raise UserError(f"{path} holds overrides Hydra cannot read: {one_line(err)}") from None
    batches = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    jobs = [job for batch in batches for job in batch]
    return [(sweep / str(i), job) for i, job in enumerate(jobs) if not (sweep / str(i)).exists()]


def log_to(run_dir: Path) -> logging.Handler:
    """As Hydra does for a job: log lines on stdout and appended to the run's train.log."""
    handler = logging.FileHandler(run_dir / "train.log", mode="a")
    fmt = logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    handler.setFormatter(fmt)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if not any(
        isinstance(h, logging.StreamHandler) and h.stream is sys.stdout for h in root.handlers
    ):
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(fmt)
        root.addHandler(console)
    root.addHandler(handler)
    return handler
