"""``deepimg train``: a fresh run or sweep (checked, then handed to Hydra), or ``resume=DIR``;
a signal stops it with one line that says how to resume."""

from __future__ import annotations

import sys
from pathlib import Path

from deepimg.commands.hydra_app import HYDRA_ONLY, refuse_rerun, run_hydra
from deepimg.commands.jobs import run_job, sum_up_jobs, train_job
from deepimg.commands.preflight import prepare_train_args
from deepimg.errors import UserError


def train_command(args: list[str]) -> None:
    from deepimg.commands.signals import (
        RunInterrupted,
        interruptible,
        mark_interrupted,
        stop_workers,
    )

    refuse_rerun(args)
    resume = [a.partition("=")[2] for a in args if a.startswith("resume=")]
    if resume and not resume[-1]:
        raise UserError("resume= needs a folder: a run's (outputs/<date>/<time>) or a sweep's")
    folder: Path | None = Path(resume[-1]) if resume else None
    try:
        with interruptible():
            if resume:
                resume_command([a for a in args if not a.startswith("resume=")], folder)
            else:
                if not HYDRA_ONLY.intersection(args):
                    args = prepare_train_args(args)
                folder = swept_folder(args)
                run_hydra(train_job, args, "train")
    except RunInterrupted as stop:
        stop_workers()  # a parallel launcher's workers end their jobs with a record
        mark_interrupted(folder if not resume else None, stop.signum)
        say_interrupted(stop, folder or stop.run_dir)
        sys.exit(stop.exit_code)
    sum_up_jobs(None if resume else folder)


def swept_folder(args: list[str]) -> Path | None:
    """The sweep's folder when ``args`` are a sweep's (it is what a resume takes), else None."""
    if "-m" not in args and "--multirun" not in args:
        return None
    given = [a.partition("=")[2] for a in args if a.startswith("hydra.sweep.dir=")]
    return Path(given[-1]) if given else None


def say_interrupted(stop, folder: Path | None) -> None:
    """One line: which signal, where the run stopped, and the command that resumes it."""
    where = ""
    if stop.run_dir is not None:
        n = stop.epochs
        where = f" after {n} complete epoch{'s' if n != 1 else ''} of {stop.run_dir}"
    again = f"; resume with: deepimg train resume={folder}" if folder is not None else ""
    print(f"deepimg train: interrupted by {stop.name}{where}{again}", file=sys.stderr)


def resume_command(overrides: list[str], folder: Path) -> None:
    """``deepimg train resume=DIR [trainer.max_epochs=N]``: see ``deepimg.commands.resume``.
    A sweep that joblib ran resumes through joblib again, as many jobs at a time."""
    from deepimg.commands.resume import plan

    jobs, completed = plan(folder, overrides)
    if not jobs:
        print(f"deepimg train: nothing to resume in {folder}: its {completed} runs completed")
        return
    longer = [job for job in jobs if job.cfg.get("continued_from")]
    if longer:
        where = longer[0].run_dir if len(longer) == 1 else longer[0].run_dir.parent
        print(f"deepimg train: {len(longer)} completed runs of {folder} train longer, in {where}")
    if len(jobs) > len(longer):
        print(
            f"deepimg train: resuming {len(jobs) - len(longer)} runs in {folder} "
            f"({completed} completed already)"
        )
    launcher, workers = sweep_launcher(folder)
    if launcher == "joblib" and workers > 1 and len(jobs) > 1:
        from joblib import Parallel, delayed

        print(f"deepimg train: through joblib, as the sweep ran: {workers} jobs at a time")
        Parallel(n_jobs=workers)(delayed(resume_job)(job, workers) for job in jobs)
        return
    if launcher == "submitit_local" and len(jobs) > 1:
        import submitit

        print(f"deepimg train: through submitit, as the sweep ran: {len(jobs)} local jobs")
        executor = submitit.AutoExecutor(folder=folder / ".submitit" / "resume", cluster="local")
        executor.update_parameters(timeout_min=24 * 60)
        submitted = [executor.submit(resume_job, job, len(jobs)) for job in jobs]
        for job in submitted:
            job.result()
        return
    for job in jobs:
        resume_job(job)


def resume_job(job, workers: int = 1) -> None:
    """One job of a resume, logged into its run's train.log as Hydra logs a job; in a joblib
    worker (``workers`` > 1), with its share of the cores and its own signal handling."""
    import logging

    from deepimg.commands.resume import log_to
    from deepimg.commands.signals import interruptible

    if workers > 1 and job.cfg.get("threads") is None:  # as the launcher shared the cores
        from deepimg.commands.launchers import cpu_cores

        job.cfg.threads = max(1, cpu_cores() // workers)
    handler = log_to(job.run_dir)
    try:
        with interruptible():
            run_job(job.cfg, job.last)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def sweep_launcher(folder: Path) -> tuple[str, int]:
    """The launcher the sweep in ``folder`` ran under, where deepimg can use it again:
    ("joblib", its jobs at a time) or ("submitit_local", 0) when that package is installed,
    else ("sequential", 1): one after another in this process (SLURM jobs included: a resume
    on a cluster's login node runs what is left here, or resubmit the sweep's command). The
    file is read as data (``config.received``)."""
    import importlib.util

    from deepimg.commands.launchers import cpu_cores, parallel_jobs
    from deepimg.config.received import read_yaml

    try:
        launcher = (read_yaml(folder / "multirun.yaml") or {})["hydra"]["launcher"]
        target = str(launcher.get("_target_", ""))
    except Exception:  # noqa: BLE001 - not a sweep's folder, or unreadable: one at a time
        return "sequential", 1
    if "joblib" in target and importlib.util.find_spec("joblib") is not None:
        return "joblib", parallel_jobs(int(launcher.get("n_jobs") or -1), cpu_cores())
    if target.endswith("LocalLauncher") and importlib.util.find_spec("submitit") is not None:
        return "submitit_local", 0
    return "sequential", 1
