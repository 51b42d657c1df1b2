"""``deepimg train resume=DIR``: finish what an interrupted or killed run or sweep began.

A run continues from its ``checkpoints/last.ckpt`` (written after every epoch), with its own
``.hydra/config.yaml``, in its own folder; without a ``last.ckpt`` it starts again there. A
sweep resumes each job that has no completed ``metrics.json``, and runs the jobs that never
started (from the sweep's ``multirun.yaml``, for Hydra's basic sweeper) in the folders Hydra
would have given them. Completed runs are not touched: with ``trainer.max_epochs`` above the
epochs they trained, they train longer in a new folder that goes on from their ``last.ckpt``
(``continued_from`` records where from).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepimg.commands.runs import find_runs, read_metrics
from deepimg.config.received import read_yaml
from deepimg.errors import UserError

ACCEPTED = "trainer.max_epochs"
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass
class Job:
    """One run to finish: its folder, its config, and the checkpoint it continues from."""

    run_dir: Path
    cfg: DictConfig
    last: Path | None


@dataclass
class Settings:
    """What the command line may change in a resumed run: its epochs, and where its trackers
    write (``logger.<tracker>.<key>=value``; a received folder's own choice is never used)."""

    max_epochs: int | None = None
    logger: list[str] = field(default_factory=list)


def resume_settings(overrides: list[str]) -> Settings:
    """The overrides a resume accepts: ``trainer.max_epochs=N`` and ``logger.*`` keys."""
    settings = Settings()
    for line in overrides:
        key, _, text = line.partition("=")
        if key.startswith("logger."):
            settings.logger.append(line)
            continue
        if key != ACCEPTED:
            raise UserError(
                f"'{line}': a resumed run keeps its own config; the overrides accepted are "
                f"{ACCEPTED}=N, to train longer, and logger.<tracker>.<key>=VALUE"
            )
        if not text.isdigit() or int(text) < 1:
            raise UserError(f"'{line}': {ACCEPTED} must be a whole number >= 1")
        settings.max_epochs = int(text)
    return settings


def is_sweep(folder: Path) -> bool:
    return (folder / "multirun.yaml").is_file() or (
        not (folder / ".hydra").exists() and bool(find_runs(folder))
    )


def plan(target: Path, overrides: list[str]) -> tuple[list[Job], int]:
    """The jobs to run for ``resume=target``, and how many runs there completed already."""
    if not target.is_dir():
        raise UserError(f"resume='{target}': no such folder; give a run folder or a sweep folder")
    target = target.resolve()  # as printed (relative or not), the run writes where it lies
    settings = resume_settings(overrides)
    if (target / ".hydra" / "config.yaml").is_file():
        folders, unstarted = [target], []
    elif is_sweep(target):
        folders, unstarted = find_runs(target), unstarted_jobs(target)
    else:
        raise UserError(
            f"resume='{target}' holds no run (.hydra/config.yaml) and no sweep (multirun.yaml)"
        )
    jobs, completed = [], 0
    longer = LongerRuns(target, is_single=folders == [target])
    for folder in folders:
        metrics = read_metrics(folder)
        if metrics is not None and metrics.get("status") == "completed":
            completed += 1
            if settings.max_epochs is not None and settings.max_epochs > int(
                metrics.get("epochs", 0)
            ):
                jobs.append(continued_job(folder, longer.folder_for(folder), settings))
        else:
            jobs.append(started_job(folder, settings))
    for folder, job_overrides in unstarted:
        jobs.append(new_job(folder, job_overrides, settings))
    return jobs, completed


def started_job(run_dir: Path, settings: Settings) -> Job:
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
    own_trackers(cfg, settings.logger, saved)
    return Job(run_dir, configure(cfg, run_dir, settings.max_epochs, done), last)


class LongerRuns:
    """Where a completed run trains longer: a new folder (a completed run is never written
    over), ``outputs/<date>/<time>`` for a run, and for a sweep's runs the same job numbers
    under a new sweep folder."""

    def __init__(self, target: Path, is_single: bool) -> None:
        self.target, self.is_single = target, is_single
        self.root: Path | None = None

    def folder_for(self, run_dir: Path) -> Path:
        from deepimg.commands.runs import new_run_dir

        if self.root is None:
            self.root = new_run_dir(multirun=not self.is_single).resolve()
        return self.root if self.is_single else self.root / run_dir.relative_to(self.target)


def continued_job(source: Path, run_dir: Path, settings: Settings) -> Job:
    """A completed run trained longer (``trainer.max_epochs`` above its epochs): its config
    and curves copied into ``run_dir``, which continues from the source's ``last.ckpt`` and
    records where it came from (``continued_from`` in its metrics.json)."""
    import shutil

    from deepimg.config.trust import load_untrusted

    saved = source / ".hydra" / "config.yaml"
    last = source / "checkpoints" / "last.ckpt"
    if not (saved.is_file() and last.is_file()):
        raise UserError(
            f"'{source}' has no .hydra/config.yaml and checkpoints/last.ckpt to go on from"
        )
    cfg = load_untrusted(saved, saved)
    own_trackers(cfg, settings.logger, saved)
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / ".hydra", run_dir / ".hydra")
    if (source / "metrics.csv").is_file():  # the learning curves show the whole run
        shutil.copy2(source / "metrics.csv", run_dir / "metrics.csv")
    cfg = configure(cfg, run_dir, settings.max_epochs, 0)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    cfg.continued_from = str(source)
    return Job(run_dir, cfg, last)


def new_job(run_dir: Path, overrides: list[str], settings: Settings) -> Job:
    """A job of the sweep that never started: composed now, in the folder Hydra would use,
    with the ``.hydra/`` files that Hydra would have written for it."""
    from deepimg.config import compose as config
    from deepimg.config.trust import check_targets

    # The overrides come from the sweep's multirun.yaml, a file someone may have sent:
    # what they compose is checked as any config read from a file is, and its trackers
    # write where this machine's defaults say.
    source = run_dir.parent / "multirun.yaml"
    composed = config.compose([o for o in overrides if not sets_logger(o)])
    check_targets(composed, source)
    say_ignored([o.partition("=")[0].lstrip("+~") for o in overrides if sets_logger(o)], source)
    own_trackers(composed, settings.logger, source)
    cfg = configure(composed, run_dir, settings.max_epochs, 0)
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, hydra_dir / "config.yaml")
    OmegaConf.save(OmegaConf.create(list(overrides)), hydra_dir / "overrides.yaml")
    return Job(run_dir, cfg, None)


def sets_logger(override: str) -> bool:
    """An override of a tracker's arguments (``logger.mlflow.tracking_uri=...``), not of the
    choice of trackers (``logger=mlflow``)."""
    return override.lstrip("+~").startswith("logger.")


def own_trackers(cfg: DictConfig, overrides: list[str], source: str | Path) -> None:
    """Give ``cfg`` the trackers it chose, with this machine's settings for them.

    A tracker's arguments say where it writes (``save_dir``) and whom it calls
    (``tracking_uri``): taken from a received run folder, they would write outside it or
    reach a server of the sender's choosing. So they come from deepimg's own configs, or from
    ``overrides`` (``logger.<tracker>.<key>=value`` on the command line); what ``source`` set
    differently is named in one line."""
    from deepimg.config import compose as config

    node = cfg.get("logger")
    received = OmegaConf.to_container(node, resolve=False) if node is not None else {}
    if not isinstance(received, dict):
        received = {}
    options = set(config.groups()["logger"]) - {"many"}
    chosen = [name for name in received if name in options and name != "csv"]
    own = config.compose([f"logger=[{','.join(chosen)}]" if chosen else "logger=csv"]).logger
    for line in overrides:
        key, _, value = line.lstrip("+").partition("=")
        _, tracker, arg = (key.split(".", 2) + ["", ""])[:3]
        if tracker not in own or not arg:
            raise UserError(
                f"'{line}': the resumed run's trackers are {', '.join(own)}; "
                "write logger.<tracker>.<key>=VALUE"
            )
        OmegaConf.update(own[tracker], arg, yaml_value(value), force_add=True)
    mine = OmegaConf.to_container(own, resolve=False)
    say_ignored([f"logger.{k}" for k in differing(received, mine)], source, skip=set(overrides))
    OmegaConf.set_struct(cfg, False)
    cfg.logger = own


def yaml_value(text: str) -> object:
    """A command-line value as Hydra reads it: ``null``, numbers and booleans typed."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def differing(received: dict, own: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose value in ``received`` is not the one in ``own`` (or not in it)."""
    keys = []
    for key, value in received.items():
        path = f"{prefix}{key}"
        mine = own.get(key) if isinstance(own, dict) else None
        if isinstance(value, dict) and isinstance(mine, dict):
            keys += differing(value, mine, path + ".")
        elif value != mine:
            keys.append(path)
    return keys


def say_ignored(keys: list[str], source: str | Path, skip: set[str] = frozenset()) -> None:
    """One line naming the tracker settings of a received file that the resume ignores."""
    keys = [k for k in keys if not any(s.lstrip("+").startswith(k + "=") for s in skip)]
    if keys:
        print(
            f"deepimg train: ignoring {', '.join(keys)} from {source}: on resume, trackers "
            "write where this machine's defaults (or logger.*= on the command line) say",
            file=sys.stderr,
        )


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
        hydra = OmegaConf.create(read_yaml(path)).hydra  # data only: nothing is instantiated
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
