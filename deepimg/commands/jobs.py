"""What Hydra runs once per job of ``deepimg train``, and the sum of a sweep's jobs.

A job that fails leaves its reason in its folder and the sweep goes on; a signal stops the
whole sweep. Heavy modules (Lightning, torch) are imported inside, when a job runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from deepimg.errors import UserError


def fail(message: object) -> None:
    """One line on stderr, exit status 2: a job's bad input."""
    print(f"deepimg train: error: {message}", file=sys.stderr)
    sys.exit(2)


# The jobs of this process's sweep (or single run): (run folder, error line or None).
JOBS: list[tuple[Path, str | None]] = []


def train_job(cfg: DictConfig) -> float | None:
    """What Hydra runs, once per job of a sweep: in this process, or in a worker of a parallel
    launcher (joblib, submitit), where a signal must end the job with its record too."""
    from deepimg.commands.signals import interruptible

    with interruptible():
        return run_job(cfg)


def run_job(cfg: DictConfig, resume_from: Path | None = None) -> float | None:
    """One job: train (or resume) and test, and return what sweepers optimise.

    A job that fails leaves ``metrics.json`` (``status: failed`` and the error line) and
    ``error.log`` (the traceback) in its folder, and the sweep goes on with the next job;
    ``train_command`` then sums up and exits 1. A signal (``RunInterrupted``) stops the
    whole sweep: it passes through Hydra's launcher, which starts no further job.
    """
    from deepimg.analysis.tables import print_metrics
    from deepimg.commands.runs import record_failure
    from deepimg.commands.signals import RunInterrupted
    from deepimg.commands.train import is_rank_zero, train

    run_dir = Path(cfg.paths.output_dir)
    try:
        metrics = train(cfg, resume_from)
    except UserError as err:
        fail(err)
    except RunInterrupted:
        raise
    except Exception as err:  # noqa: BLE001 - any fault of one job: record it, go on
        if not is_rank_zero():
            raise  # Lightning ends the other ranks; rank zero records the failure
        status = "diverged" if type(err).__name__ == "Diverged" else "failed"
        line = record_failure(run_dir, err, status)
        JOBS.append((run_dir, line))
        print(f"deepimg train: run {run_dir} failed: {line}", file=sys.stderr)
        return None
    JOBS.append((run_dir, None))
    if is_rank_zero():
        print_metrics(metrics, title=str(run_dir))
    return metrics.get(metrics["objective"])  # a validation metric: sweepers never see test


def jobs_in(folder: Path) -> list[tuple[Path, str | None]]:
    """The jobs of a sweep that ran in other processes (joblib, submitit), read back from
    their folders: (run folder, error line or None)."""
    from deepimg.commands.runs import find_runs, read_metrics

    jobs = []
    for run in find_runs(folder.resolve()):
        metrics = read_metrics(run) or {}
        error = metrics.get("error") or "no metrics.json (see its log)"
        jobs.append((run, None if metrics.get("status") == "completed" else str(error)))
    return jobs


def sum_up_jobs(folder: Path | None = None) -> None:
    """One line and exit status 1 when any job failed. Jobs that a parallel launcher ran
    elsewhere are read back from the sweep ``folder``."""
    jobs = JOBS or (jobs_in(folder) if folder is not None and folder.is_dir() else [])
    failed = [(run, line) for run, line in jobs if line is not None]
    if not failed:
        return
    logs = ", ".join(str(run / "error.log") for run, _ in failed)
    print(
        f"deepimg train: {len(jobs) - len(failed)} of {len(jobs)} runs completed; "
        f"failed: {len(failed)} ({logs})",
        file=sys.stderr,
    )
    sys.exit(1)
