"""The command line: ``deepimg train|eval|report``.

``train`` hands its arguments to Hydra after deepimg's shorthands are expanded and every
value is checked, so a typo fails in a second with one line instead of a traceback after
the data has loaded. Heavy libraries (torch, Lightning) are imported inside the commands,
so ``deepimg --help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepimg import __version__
from deepimg.errors import UserError

USAGE = f"""usage: deepimg COMMAND [ARGS ...]

deepimg {__version__}: how the physical imaging system (bit depth, blur, pixels, noise, colour
filters, masks) changes what a deep network can do, and can it be optimised jointly.

commands:
  train   train a network through a simulated imaging system (a Hydra app: key=value overrides)
  eval    re-test a trained model, optionally under another physical layer
  report  one table, plots and a page for a sweep, or a folder of sweeps

examples:
  deepimg train
  deepimg train physical_layer=quantize bits=1..8 -m
  deepimg train task=restore physical_layer=blur sigma=2
  deepimg report outputs/multirun/2026-11-23/10-00-00
  deepimg eval ckpt=outputs/2026-11-23/10-00-00/checkpoints/best.ckpt bits=2

`deepimg COMMAND --help` explains each command; `deepimg train --help` lists every config group.
"""

EVAL_USAGE = """usage: deepimg eval ckpt=PATH [OVERRIDE ...]

Rebuild a trained model from its checkpoint and its run's .hydra/config.yaml, apply the
overrides (e.g. bits=2 or physical_layer=none to re-test under another sensor; short keys and
group=option work as in `deepimg train`), test it on the test split, print the metrics and
write metrics.json and config.yaml into a new run folder outputs/<date>/<time>/
(or hydra.run.dir=DIR), with the figures of the `analysis` group (analysis=none|basic|full,
as the run was trained unless overridden) and an index.html that shows them.

An ensemble: ckpt=A.ckpt,B.ckpt,C.ckpt, or ckpt=SWEEP_DIR for the best checkpoint of each
completed run of a sweep. The members (which must share the task, the dataset and the
physical layer) and the ensemble, which averages their predicted probabilities, are tested
on the same test split and printed side by side.

tta=flip|flip_shift also scores the test averaged over moved copies of each scene (before
the physical layer): test/acc_tta beside test/acc.

examples:
  deepimg eval ckpt=outputs/2026-11-23/10-00-00/checkpoints/best.ckpt
  deepimg eval ckpt=outputs/multirun/2026-11-23/10-00-00/7/checkpoints/best.ckpt bits=2
  deepimg eval ckpt=outputs/multirun/2026-11-23/10-00-00 tta=flip    # an ensemble, with TTA
"""

HYDRA_ONLY = {
    "--help",
    "-h",
    "--hydra-help",
    "--version",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
}


def fail(command: str, message: object) -> None:
    """One line on stderr, exit status 2: the contract for every bad input."""
    prog = f"deepimg {command}" if command else "deepimg"
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


# ---- train ---------------------------------------------------------------------------------


# The jobs of this process's sweep (or single run): (run folder, error line or None).
JOBS: list[tuple[Path, str | None]] = []


def train_job(cfg: DictConfig) -> float | None:
    """What Hydra runs, once per job of a sweep."""
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
        fail("train", err)
    except RunInterrupted:
        raise
    except Exception as err:  # noqa: BLE001 - any fault of one job: record it, go on
        if not is_rank_zero():
            raise  # Lightning ends the other ranks; rank zero records the failure
        line = record_failure(run_dir, err)
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


def hydra_parser() -> argparse.ArgumentParser:
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()
    parser.prog = "deepimg train"

    def error(message: str) -> None:
        raise UserError(f"{message}; see deepimg train --help")

    parser.error = error  # one line instead of argparse's usage block
    return parser


def prepare_train_args(args: Sequence[str]) -> list[str]:
    """Expand shorthands, check every value, and give the run a fresh folder.

    Returns the argument list for Hydra: flags first, then the full overrides.
    """
    from deepimg.commands.runs import new_run_dir, writable_folder
    from deepimg.config import compose as config
    from deepimg.config.overrides import expand_ranges, expand_short_keys

    ns = hydra_parser().parse_intermixed_args(list(args))
    for override in ns.overrides:
        if override.startswith("="):
            raise UserError(f"'{override}' has no key; write key=value, e.g. bits{override}")
    flags = list(args)
    for override in ns.overrides:
        flags.remove(override)
    overrides, ranged = expand_ranges(ns.overrides)
    overrides = expand_short_keys(overrides, config.groups(), config.compose)
    multirun = ns.multirun or ranged
    if multirun and ns.cfg:
        raise UserError(
            "--cfg prints one config and cannot be combined with a sweep (-m or A..B); "
            "give one value per key to see its config"
        )
    if ranged and not ns.multirun:
        flags.append("-m")
    check_sweeper(overrides)
    searched = any(o.startswith("hydra/sweeper=") and o != "hydra/sweeper=basic" for o in overrides)
    variants = [config.compose(variant) for variant in sweep_variants(overrides, searched)]
    for cfg in variants:
        config.check_config(cfg)
    if not ns.cfg:
        check_fit_to_data(variants)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [o.partition("=")[2] for o in overrides if o.startswith(key + "=")]
    if not ns.cfg and given:
        refuse_existing_runs(Path(given[-1]))
        writable_folder(given[-1], key)
    if not ns.cfg and not given:
        overrides.append(f"{key}={new_run_dir(multirun)}")
    return flags + overrides


def check_sweeper(overrides: list[str]) -> None:
    """Hydra's own ``hydra/sweeper=optuna`` minimizes unless told a direction: on accuracy
    that search would hunt for the worst design. deepimg's preset knows the task's direction."""
    if "hydra/sweeper=optuna" in overrides and not any(
        o.startswith("hydra.sweeper.direction=") for o in overrides
    ):
        raise UserError(
            "hydra/sweeper=optuna is the plugin's bare config, which minimizes; use "
            "hydra/sweeper=search (deepimg's preset: the task's validation objective, in its "
            "direction) or give hydra.sweeper.direction=maximize|minimize"
        )


def refuse_existing_runs(folder: Path) -> None:
    """A folder that already holds a run (or a sweep of runs) is never written over."""
    from deepimg.commands.runs import find_runs

    if (
        (folder / "metrics.json").exists()
        or (folder / ".hydra").exists()
        or (folder.is_dir() and find_runs(folder))
    ):
        raise UserError(
            f"'{folder}' already holds a run; choose a new folder (or leave hydra.run.dir "
            "and hydra.sweep.dir out for a fresh one under outputs/)"
        )


def check_fit_to_data(variants: list[DictConfig]) -> None:
    """Build each variant's model on its data, before any run folder exists.

    Some values are wrong only for a given dataset (a 40x40 sensor on 28x28 scenes, a colour
    filter on grayscale images); finding them here keeps a sweep from failing half-way.
    """
    from deepimg.training.build import build_datamodule, build_module
    from deepimg.training.loggers import check_trackers

    datamodules = {}
    for cfg in variants:
        check_accelerator(cfg)
        check_trackers(cfg)
        key = OmegaConf.to_yaml(cfg.dataset)  # augmentation never changes the shape
        if key not in datamodules:
            datamodules[key] = build_datamodule(cfg)
        build_module(cfg, datamodules[key])


def check_accelerator(cfg: DictConfig) -> None:
    """A GPU trainer on a machine where torch sees no GPU fails at once, not in the job."""
    import torch

    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UserError(
            f"trainer.accelerator={accelerator} needs a CUDA GPU, and torch sees none on this "
            "machine; use trainer=cpu (or trainer=default, which picks what there is)"
        )


def sweep_variants(overrides: list[str], searched: bool = False) -> list[list[str]]:
    """Override lists that together contain every value of every sweep once. A search
    (``searched``: Optuna) reads ``range(a,b)`` with ``b`` included, unlike a grid: so its
    checks include ``b``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import RangeSweep
    from hydra.errors import HydraException

    from deepimg.config.compose import one_line

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise UserError(one_line(err)) from None

    def values(o) -> list[str]:
        if o.is_interval_sweep():  # a search's interval(a,b): both ends are checked
            interval = o.value()
            return [str(interval.start), str(interval.end)]
        if not o.is_sweep_override():
            return []
        swept = list(o.sweep_string_iterator())
        value = o.value()
        if searched and isinstance(value, RangeSweep) and not value.shuffle:
            swept.append(str(value.stop))
        return swept

    def line(o, value: str | None = None) -> str:
        if value is None:
            swept = values(o)
            if not swept:
                return o.input_line
            value = swept[0]
        return f"{o.get_key_element()}={value}"

    variants = [[line(o) for o in parsed]]
    for i, o in enumerate(parsed):
        for value in values(o)[1:]:
            variants.append([line(p, value) if j == i else line(p) for j, p in enumerate(parsed)])
    return variants


def refuse_rerun(args: Sequence[str]) -> None:
    """Hydra's ``--experimental-rerun FILE`` unpickles FILE, and a pickle can run any code:
    a file someone sent must never reach it. argparse also takes any prefix of the flag
    (``--experimental-re``), so the flag is found as Hydra's own parser finds it."""
    ns, _ = hydra_parser().parse_known_args(list(args))
    if ns.experimental_rerun is not None:
        raise UserError(
            f"--experimental-rerun {ns.experimental_rerun} is not accepted: Hydra would "
            "unpickle that file, which can run any code; resume a run with resume=DIR"
        )


def run_hydra(task, argv: list[str], config_name: str) -> None:
    import hydra

    from deepimg.commands.resolvers import register_resolvers
    from deepimg.config.compose import conf_dir

    refuse_rerun(argv)  # every way into Hydra passes here, DDP's other ranks included
    register_resolvers()
    # Hydra reads its overrides from sys.argv. argv[0] stays this program, because Lightning's
    # DDP launcher starts the other ranks as `python argv[0] argv[1:] hydra.run.dir=...`.
    sys.argv = [sys.argv[0], *argv]
    hydra.main(config_path=str(conf_dir()), config_name=config_name, version_base="1.3")(task)()


def train_command(args: list[str]) -> None:
    from deepimg.commands.signals import RunInterrupted, interruptible

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
    """``deepimg train resume=DIR [trainer.max_epochs=N]``: see ``deepimg.commands.resume``."""
    import logging

    from deepimg.commands.resume import log_to, plan

    jobs, completed = plan(folder, overrides)
    if not jobs:
        print(f"deepimg train: nothing to resume in {folder}: its {completed} runs completed")
        return
    print(f"deepimg train: resuming {len(jobs)} runs in {folder} ({completed} completed already)")
    for job in jobs:
        handler = log_to(job.run_dir)
        try:
            run_job(job.cfg, job.last)
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()


# ---- eval and report -----------------------------------------------------------------------


def eval_command(args: list[str]) -> None:
    if not args or {"-h", "--help"}.intersection(args):
        print(EVAL_USAGE)
        return None if args else fail("eval", "missing ckpt=PATH; see deepimg eval --help")
    ckpts = [a.partition("=")[2] for a in args if a.startswith("ckpt=")]
    if len(ckpts) != 1:
        fail("eval", "give exactly one ckpt=PATH (a checkpoint, A,B,C, or a sweep folder)")
    from deepimg.commands.evaluate import evaluate

    out = [a.partition("=")[2] for a in args if a.startswith("hydra.run.dir=")]
    overrides = [a for a in args if not a.startswith(("ckpt=", "hydra.run.dir="))]
    evaluate(ckpts[0], overrides, Path(out[-1]) if out else None)


def report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepimg report",
        description="Scan sweep folders for runs; write DIR/report/ (index.html, a self-contained "
        "page; summary.csv and summary.md; one PNG per metric and swept numeric parameter, a "
        "heatmap for two) and print the table. Several folders (deepimg report A B) are "
        "compared on shared axes, in A/report-vs-B/ unless --out is given.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="a sweep folder, or a folder of sweeps")
    parser.add_argument(
        "--metrics",
        help="comma-separated metric names from metrics.json (default: the runs' task's test "
        "metrics and baselines: test/acc,test/f1,test/auroc for classify; test/psnr,test/ssim,"
        "test/mse,test/psnr_baseline,test/ssim_baseline for restore)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the report (default: DIR/report, or A/report-vs-B for several)",
    )
    return parser


def report_command(args: list[str]) -> None:
    parser = report_parser()

    def error(message: str) -> None:
        raise UserError(f"{message}; see deepimg report --help")

    parser.error = error
    ns = parser.parse_args(args)
    from deepimg.commands.report import report

    metrics = [m for m in ns.metrics.split(",") if m] if ns.metrics else None
    report(ns.dirs, metrics=metrics, out=ns.out)


def is_ddp_rank() -> bool:
    """Is this process a rank that Lightning's DDP launcher started (not the first one)?
    It sets LOCAL_RANK for those, and passes the run's Hydra overrides without a command."""
    return os.environ.get("LOCAL_RANK", "0") != "0"


COMMANDS = {"train": train_command, "eval": eval_command, "report": report_command}


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)  # no command: a usage error
        sys.exit(0 if args else 2)
    if args[0] in ("-V", "--version"):
        print(f"deepimg {__version__}")
        return
    command = args[0]
    if command not in COMMANDS and is_ddp_rank():
        try:
            run_hydra(train_job, args, "train")  # another rank of a DDP run: see run_hydra
        except UserError as err:
            fail("train", err)
        return
    if command not in COMMANDS:
        fail("", f"unknown command '{command}'; accepted: {', '.join(COMMANDS)}")
    try:
        COMMANDS[command](args[1:])
    except UserError as err:
        fail(command, err)
    except KeyboardInterrupt:
        print(f"deepimg {command}: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
