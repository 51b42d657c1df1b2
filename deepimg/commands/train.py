"""One training run: fit through the physical layer, test the best checkpoint, save everything."""

from __future__ import annotations

import logging
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from deepimg.analysis.physics_figures import save_maps, save_physics_figures
from deepimg.analysis.run_analysis import analyse_run, settings_from_config
from deepimg.analysis.spreadsheets import write_csv
from deepimg.analysis.tables import print_class_balance
from deepimg.commands.launchers import limit_threads
from deepimg.commands.runs import write_metrics, write_per_image
from deepimg.commands.signals import RunInterrupted
from deepimg.data.datamodule import ImageDataModule
from deepimg.errors import UserError
from deepimg.physics.base import PhysicalLayer
from deepimg.tasks.base import Task
from deepimg.training.build import build_datamodule, build_module, build_stages
from deepimg.training.callbacks import PhysicsMaps, RandomState, SaveRunConfig
from deepimg.training.checkpoint_io import AtomicCheckpointIO
from deepimg.training.information import NEEDS_NOISE
from deepimg.training.loggers import build_loggers, close_trackers, log_final
from deepimg.training.module import ImagingModule
from deepimg.training.stages import BestInLastStage, StageSchedule

log = logging.getLogger(__name__)

STANDARDIZE_SAMPLES = 4096  # training scenes used to measure the sensor output's mean and std


def quiet_lightning() -> None:
    """Silence the start-up chatter (device lines, tips) that hides the progress bar."""
    for name in ("pytorch_lightning.utilities.rank_zero", "pytorch_lightning.accelerators.cuda",
                 "lightning_fabric.utilities.seed", "lightning.pytorch.utilities.rank_zero",
                 "pytorch_lightning.trainer.connectors.signal_connector"):  # fmt: skip
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in (
        ".*does not have many workers.*",
        ".*LeafSpec.*",
        ".*litlogger.*",
        ".*number of training batches.*",
        ".*isinstance.*treespec.*",
        ".*Experiment logs directory.*",
        ".*Checkpoint directory .* exists.*",
        ".*sync_dist=True.*",
    ):  # fmt: skip  (torchmetrics syncs its own values)
        warnings.filterwarnings("ignore", message=pattern)


def is_rank_zero() -> bool:
    """Is this the process that writes the run's files? Under DDP every rank trains and
    tests, and only rank zero writes metrics, figures and pages (Lightning sets the rank)."""
    return rank_zero_only.rank == 0


def describe_data(datamodule: ImageDataModule, run_dir: Path) -> None:
    """Print the class balance of each split, and save it as ``class_balance.csv``."""
    balance = datamodule.class_balance()
    write_csv(balance, run_dir / "class_balance.csv")
    print_class_balance(
        balance, f"{type(datamodule).__name__}: {datamodule.in_shape}, {datamodule.bit_depth}-bit"
    )


def warn_if_finer_than_source(module: ImagingModule, datamodule: ImageDataModule) -> None:
    """More ADC bits than the source images have add levels that hold no information."""
    bits = getattr(module.physics, "bits", None)
    if bits is not None and bits > datamodule.bit_depth:
        log.warning(
            "quantising to %d bits, but the source images have only %d: the extra levels carry no information",
            bits, datamodule.bit_depth,
        )  # fmt: skip


def fit_standardization(module: ImagingModule, datamodule: ImageDataModule) -> None:
    """Standardise what the network reads (the measurement, or the task's classical estimate
    made from it), measured on training scenes before training."""
    scenes, _ = datamodule.scenes("train", STANDARDIZE_SAMPLES)
    with torch.no_grad():
        module.physics.eval()
        network_input = module.task.network_input(module.physics, module.physics(scenes))
        module.standardize.fit(network_input)
        module.physics.train()


def task_facts(task: Task, tta: bool = False) -> dict[str, str]:
    """What metrics.json says of the task: its name, the value sweepers optimise, its test
    metrics (with their test-time-augmented twins when ``tta``) and which of them are better
    lower (for ``deepimg report``)."""
    names = [f"test/{m}" for m in task.directions]
    names += [f"{n}_tta" for n in names] if tta else []
    lower = [f"test/{m}" for m, d in task.directions.items() if d == "min"]
    return {
        "task": task.name,
        "objective": task.objective,
        "task_metrics": ",".join(names),
        "lower_is_better": ",".join(lower + ([f"{n}_tta" for n in lower] if tta else [])),
    }


def build_trainer(
    cfg: DictConfig,
    run_dir: Path,
    task: Task,
    extra_callbacks: list[Callback],
    schedule: StageSchedule | None = None,
) -> pl.Trainer:
    """Lightning's Trainer from the ``trainer`` group, logging to the ``logger`` group's
    trackers. ``best.ckpt`` follows the task's monitored validation metric (within the last
    stage, for a run of several ``schedule`` stages); ``last.ckpt``, written after every
    epoch, is where a run that was interrupted or killed resumes."""
    settings = dict(
        dirpath=run_dir / "checkpoints", filename="best", monitor=task.monitor, mode=task.mode,
        save_top_k=1, save_last=True, auto_insert_metric_name=False,
        enable_version_counter=False,  # one best.ckpt and one last.ckpt, never last-v1.ckpt
    )  # fmt: skip
    staged = schedule is not None and len(schedule.plan) > 1
    checkpoint = BestInLastStage(schedule, **settings) if staged else ModelCheckpoint(**settings)
    loggers = build_loggers(cfg, run_dir)
    maps = [PhysicsMaps()] if len(loggers) > 1 else []  # pictures for the trackers that show them
    stages = [schedule] if schedule is not None else []
    return instantiate(
        cfg.trainer, default_root_dir=str(run_dir), logger=loggers,
        callbacks=[checkpoint, *stages, *extra_callbacks, *maps],
        plugins=[AtomicCheckpointIO()], _convert_="all",
    )  # fmt: skip


def check_stages(schedule: StageSchedule, physics: PhysicalLayer, strategy: str) -> None:
    """Refuse, in one line and before training, stages this run cannot go through: info
    passes on a layer without a noise model, and a held learned design under DDP."""
    if schedule.stages.info and physics.learnable:
        probe = torch.zeros(1, *physics.in_shape)
        if physics.photon_counts(probe) is None:
            raise UserError(
                f"stages.info={schedule.stages.info}: {type(physics).__name__} has no noise "
                f"model, and {NEEDS_NOISE}"
            )
    if schedule.holds_a_learned_design() and "ddp" in strategy:
        raise UserError(
            "a learned design held by a stage (warmup, decode, info passes) does not train "
            "under DDP yet (its gradient comes and goes); use stages=joint, or one device"
        )


def example_scenes(datamodule: ImageDataModule, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """One test scene of each of the first ``n`` classes, for pictures."""
    scenes, labels = datamodule.scenes("test", 2000)
    picks = [int((labels == c).nonzero()[0]) for c in labels.unique()[:n]]
    return scenes[picks], labels[picks]


def save_physics_pictures(
    module: ImagingModule, datamodule: ImageDataModule, run_dir: Path, pictures: bool = True
) -> None:
    """``physics/``: example scenes before and after the physical layer, and its maps
    (without ``pictures``, ``analysis=none``: the maps' numbers only, so the learned design
    is kept and a quick sweep draws nothing; the pictures cost about 0.5 s)."""
    if not pictures:
        save_maps(module.physics, run_dir / "physics", pictures=False)
        return
    scenes, labels = example_scenes(datamodule)
    titles = [datamodule.class_names[int(y)] for y in labels]
    save_physics_figures(module.physics, scenes, titles, run_dir / "physics")


def train(cfg: DictConfig, resume_from: Path | None = None) -> dict[str, Any]:
    """Train and test one configuration; returns the flat metrics also written to metrics.json.

    ``resume_from``: a ``last.ckpt`` of this run to continue from. A signal (``RunInterrupted``)
    leaves ``metrics.json`` with ``status: interrupted`` and the epochs completed, and
    ``checkpoints/last.ckpt`` as of the last complete epoch.
    """
    run_dir = Path(cfg.paths.output_dir)
    progress: dict[str, Any] = {"epochs": 0}
    try:
        return fit_and_test(cfg, run_dir, resume_from, progress)
    except RunInterrupted as stop:
        last = run_dir / "checkpoints" / "last.ckpt"
        if is_rank_zero():
            write_metrics(run_dir, {
                "status": "interrupted", "signal": stop.name, "epochs": progress["epochs"],
                "last_checkpoint": str(last.relative_to(run_dir)) if last.is_file() else None,
            })  # fmt: skip
        stop.run_dir, stop.epochs = run_dir, progress["epochs"]
        raise
    finally:
        close_trackers()  # the next run of a sweep in this process starts its own W&B run


def fit_and_test(
    cfg: DictConfig, run_dir: Path, resume_from: Path | None, progress: dict[str, Any]
) -> dict[str, Any]:
    quiet_lightning()
    threads = limit_threads(cfg)  # this job's share of the cores, under a parallel launcher
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    if is_rank_zero():
        describe_data(datamodule, run_dir)
        warn_if_finer_than_source(module, datamodule)
    fit_standardization(module, datamodule)
    regularization = module.regularization
    task = module.task
    callbacks = [
        SaveRunConfig(cfg), RandomState(), EpochCount(progress),
        *regularization.callbacks(task.monitor, task.direction),
    ]  # fmt: skip
    schedule = StageSchedule(build_stages(cfg), run_dir)
    schedule.setup_plan(int(cfg.trainer.max_epochs), module.physics.learnable)
    check_stages(schedule, module.physics, str(cfg.trainer.get("strategy")))
    trainer = build_trainer(cfg, run_dir, task, callbacks, schedule)
    if module.transfer is not None and is_rank_zero():
        log.info(module.transfer.summary())
    if module.frozen and is_rank_zero():
        log.info("freeze=%s: %d parameters frozen", cfg.freeze, module.frozen)
    if resume_from is not None:
        keep_logged_epochs(trainer, run_dir / "metrics.csv", resume_from)

    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    train_time = time.perf_counter() - start
    fit_metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    best = best_checkpoint(run_dir)
    start = time.perf_counter()
    test_metrics = trainer.test(
        module, datamodule=datamodule, ckpt_path=best, verbose=False, weights_only=True
    )[0]
    test_time = time.perf_counter() - start

    metrics = {
        **{k: v for k, v in fit_metrics.items() if not k.endswith("_step")},
        **test_metrics,
        "status": "completed",
        **task_facts(task, module.tta_metrics is not None),
        "epochs": trainer.current_epoch,
        "train_time_s": round(train_time, 2),  # fit: training and validation
        "test_time_s": round(test_time, 2),  # the test of the best checkpoint
        "n_params": sum(p.numel() for p in module.parameters()),
        "threads": threads,
        "best_checkpoint": str(best.relative_to(run_dir)) if best else None,
    }
    if resume_from is not None:  # a checkpoint that held every epoch starts no training
        metrics["resumed_from_epoch"] = progress.get("resumed_from", trainer.current_epoch)
    if cfg.get("continued_from"):  # a completed run, trained longer in this new folder
        metrics["continued_from"] = str(cfg.continued_from)
    if not is_rank_zero():  # the other ranks of a DDP run trained and tested; one writes
        return metrics
    warning = learned_nothing(task, metrics)
    if warning:
        metrics["warning"] = warning
        log.warning("%s (%s)", warning, run_dir)
    metrics.update(design_information(module, datamodule, cfg.seed))
    settings, device = settings_from_config(cfg), trainer.strategy.root_device
    save_physics_pictures(module, datamodule, run_dir, pictures=settings.figures != "none")
    if trainer.world_size == 1:  # under DDP each rank tested a share of the images
        write_per_image(run_dir, module.per_image())
    write_metrics(run_dir, metrics)  # before the figures: the run's page shows it
    log_final(trainer.loggers, metrics, run_dir)
    draw_figures(metrics, run_dir, lambda: analyse_run(
        module, datamodule, run_dir, settings, run_dir / "metrics.csv", device
    ))  # fmt: skip
    headline = task.headline[0]
    log.info("%s=%.4f  (%s)", headline, metrics.get(headline, float("nan")), run_dir)
    return metrics


def design_information(module, datamodule, seed: int) -> dict[str, Any]:
    """The bits per pixel of the design this run ended with (``deepimg info``'s estimate),
    where its physical layer has a noise model; ``{}`` otherwise. A fault here is logged
    and leaves the run's results as they are."""
    from deepimg.commands.info import information

    try:
        return information(module.physics, datamodule, seed) or {}
    except Exception as err:  # noqa: BLE001 - an estimate that fails costs the run nothing
        log.warning("bits per pixel not estimated: %s", " ".join(str(err).split()))
        return {}


def draw_figures(metrics: dict[str, Any], run_dir: Path, draw: Callable[[], Any]) -> Any:
    """The figures after the test. Test results are final once written: a figure that fails
    (a NaN-trained network has no ROC curve) is recorded beside them, ``analysis_error`` in
    metrics.json and the traceback in ``analysis_error.log``, and the run stays completed."""
    try:
        return draw()
    except Exception as err:  # noqa: BLE001 - any fault of a figure: keep the results
        line = " ".join(f"{type(err).__name__}: {err}".split())
        (run_dir / "analysis_error.log").write_text("".join(traceback.format_exception(err)))
        metrics["analysis_error"] = line
        write_metrics(run_dir, metrics)
        log.warning("the figures failed (%s); the test results stand: %s", line, run_dir)
        return None


def learned_nothing(task: Task, metrics: dict[str, Any], margin: float = 0.02) -> str | None:
    """One line where the test shows nothing learned: a metric at the level of a guess
    (accuracy near 1 in K), or the task's metric no better than its classical baseline."""
    for name, guess in task.chance().items():
        value = metrics.get(f"test/{name}")
        better = task.directions.get(name, "max") == "max"
        if value is not None and (value <= guess + margin if better else value >= guess - margin):
            return (
                f"test/{name}={value:.4f} is at the level of a guess ({guess:.4f}): the network "
                "learned nothing; check the learning rate and the physical layer"
            )
    name = task.monitor_metric
    value, baseline = metrics.get(f"test/{name}"), metrics.get(f"test/{name}_baseline")
    if value is not None and baseline is not None:
        better = task.directions[name] == "max"
        if (value <= baseline) if better else (value >= baseline):
            return (
                f"test/{name}={value:.4f} is no better than the classical estimate's "
                f"{baseline:.4f}: the network added nothing"
            )
    return None


def best_checkpoint(run_dir: Path) -> Path | None:
    """This run's own ``best.ckpt``. Not the checkpoint callback's ``best_model_path``: in a
    run folder that was copied or moved, the state it restores names the folder it came from."""
    own = run_dir / "checkpoints" / "best.ckpt"
    return own if own.is_file() else None


class EpochCount(Callback):
    """Keeps ``progress["epochs"]``, the epochs completed, for the record of an interruption."""

    def __init__(self, progress: dict[str, Any]) -> None:
        self.progress = progress

    def on_train_start(self, trainer, pl_module) -> None:
        self.progress["epochs"] = self.progress["resumed_from"] = trainer.current_epoch

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.progress["epochs"] = trainer.current_epoch + 1


def keep_logged_epochs(trainer: pl.Trainer, csv_path: Path, checkpoint: Path) -> None:
    """Lightning's CSV logger deletes ``metrics.csv`` when it starts; a resumed run keeps the
    rows of the epochs its checkpoint holds, so its learning curves show the whole run."""
    if not csv_path.is_file():
        return
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)  # no copy
    last_epoch = int(saved.get("epoch", -1))
    try:
        rows = pd.read_csv(csv_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        log.warning("%s is unreadable (%s); the curves start at the resumed epoch", csv_path, err)
        return
    if "epoch" in rows:
        rows = rows[rows["epoch"] <= last_epoch]
    writer = trainer.logger.experiment  # creating the writer deletes the old file
    rows.to_csv(csv_path, index=False)
    writer.metrics_keys = list(rows.columns)  # so that new rows are appended under this header
