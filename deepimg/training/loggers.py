"""The experiment trackers of the ``logger`` group: Lightning's loggers, named after the run.

Every option of the group keeps the CSV logger (``<run>/metrics.csv``), which the run's
curves, its page and ``resume=`` read. The others are the trackers people already use:
TensorBoard, MLflow and W&B. A run is found in them by its folder: the name of each tracker's
run is the run folder, and a sweep's runs are grouped under the sweep's folder (an MLflow
experiment, a W&B group). Names are set here, never left to the trackers: both draw their
random names after the run's seed was set, so every run of a sweep would get the same one.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger

from deepimg.config.received import read_yaml
from deepimg.errors import UserError

# The package each tracker needs, by the class name of its Lightning logger.
PACKAGES = {"TensorBoardLogger": "tensorboard", "MLFlowLogger": "mlflow", "WandbLogger": "wandb"}


def check_trackers(cfg: DictConfig) -> None:
    """Before any run: every chosen tracker's package is installed, and the CSV logger is kept."""
    node = cfg.get("logger")
    chosen = OmegaConf.to_container(node, resolve=False) if node is not None else {}  # no run yet
    if "csv" not in chosen:
        raise UserError(
            "the logger group must keep its csv entry (deepimg's curves and resume read "
            "metrics.csv); choose logger=csv|tensorboard|mlflow|wandb|many"
        )
    for name, entry in chosen.items():
        package = PACKAGES.get(str(entry.get("_target_", "")).rsplit(".", 1)[-1])
        if package and importlib.util.find_spec(package) is None:
            raise UserError(
                f"logger={name} needs the {package} package, which is not installed; "
                "pip install 'deepimg[track]' (make install installs it)"
            )


def relative(path: Path) -> str:
    """``path`` relative to the working folder where it lies below it, else absolute."""
    path = path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def sweep_of(run_dir: Path) -> Path | None:
    """The sweep a run belongs to: Hydra's sweep folder in a ``-m`` job (every sweeper and
    launcher), else the folder above it with Hydra's ``multirun.yaml`` (a resumed job)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized():
        hydra = HydraConfig.get()
        return Path(hydra.sweep.dir) if hydra.mode == RunMode.MULTIRUN else None
    return run_dir.parent if (run_dir.parent / "multirun.yaml").is_file() else None


def overrides_of(run_dir: Path) -> dict[str, str]:
    """The run's command-line overrides (``.hydra/overrides.yaml``) as {key: value}."""
    path = run_dir / ".hydra" / "overrides.yaml"
    lines = read_yaml(path) if path.is_file() else []  # a resumed folder may be someone's
    pairs = (str(line).lstrip("+~").partition("=") for line in lines if isinstance(lines, list))
    return {key: value for key, _, value in pairs if not key.startswith("hydra")}


def named(entry: DictConfig, run_dir: Path) -> dict[str, Any]:
    """The arguments left ``null`` in a tracker's config, filled in for this run."""
    target = str(entry.get("_target_", "")).rsplit(".", 1)[-1]
    sweep = sweep_of(run_dir)
    names: dict[str, Any] = {}
    if target == "MLFlowLogger":
        if entry.get("tracking_uri") is None:  # MLflow's advice: a database, not a folder
            names["tracking_uri"] = f"sqlite:///{Path.cwd() / 'outputs' / 'mlflow.db'}"
            (Path.cwd() / "outputs").mkdir(exist_ok=True)
        if entry.get("experiment_name") is None:
            names["experiment_name"] = relative(sweep) if sweep else "deepimg"
        if entry.get("run_name") is None:
            names["run_name"] = relative(run_dir)
        uri = str(entry.get("tracking_uri") or names["tracking_uri"])
        if "://" not in uri or uri.startswith("file:"):  # the folder store: MLflow 3's opt-in
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    elif target == "WandbLogger":
        if entry.get("name") is None:
            names["name"] = relative(run_dir)
        if entry.get("group") is None and sweep:
            names["group"] = relative(sweep)
    return names


def build_loggers(cfg: DictConfig, run_dir: Path) -> list[Logger]:
    """The ``logger`` group's loggers for the run in ``run_dir``, the CSV logger first (its
    ``metrics.csv`` is what ``trainer.logger`` names), each told the run's overrides."""
    chosen = cfg.get("logger") or OmegaConf.create({"csv": {}})
    loggers: list[Logger] = []
    for entry in chosen.values():
        if not entry:
            continue
        loggers.append(instantiate(entry, **named(entry, run_dir), _convert_="all"))
    if not any(isinstance(lg, CSVLogger) for lg in loggers):
        loggers.insert(0, CSVLogger(save_dir=run_dir, name="", version=""))
    loggers.sort(key=lambda lg: not isinstance(lg, CSVLogger))
    params = {**overrides_of(run_dir), "seed": cfg.get("seed"), "run_dir": str(run_dir)}
    for lg in loggers[1:]:
        lg.log_hyperparams(params)
    return loggers


def log_final(loggers: list[Logger], metrics: dict[str, Any], run_dir: Path) -> None:
    """What the run ends with, beyond what Lightning logged per epoch: the numeric facts of
    ``metrics.json`` (train time, parameter count), and for MLflow the physics pictures."""
    facts = {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and "/" not in k
    }
    for lg in loggers[1:]:
        lg.log_metrics(facts)
        if isinstance(lg, MLFlowLogger):
            for picture in sorted((run_dir / "physics").glob("*.png")):
                lg.experiment.log_artifact(lg.run_id, str(picture), "physics")
            lg.experiment.log_artifact(lg.run_id, str(run_dir / "metrics.json"))


def close_trackers() -> None:
    """End this run's W&B run: without ``wandb.finish()``, every later run of the sweep in
    this process would log into the first one."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()


def as_image(values: torch.Tensor) -> torch.Tensor:
    """A physical map ``(H, W)`` or ``(C, H, W)`` as a ``(1 or 3, H, W)`` picture in [0, 1]:
    stretched to its own range; channels other than 1 or 3 side by side."""
    x = values.detach().float().cpu()
    x = x.unsqueeze(0) if x.ndim == 2 else x.reshape(-1, *x.shape[-2:])
    if x.shape[0] not in (1, 3):
        x = torch.cat(list(x), dim=-1).unsqueeze(0)
    low, high = x.min(), x.max()
    return (x - low) / (high - low) if high > low else torch.zeros_like(x)


def log_physics_maps(loggers: list[Logger], maps: dict[str, torch.Tensor], epoch: int) -> None:
    """The physical layer's maps (PSF, mask, gains) as pictures of this epoch, where the
    tracker shows pictures (TensorBoard, W&B)."""
    for lg in loggers:
        for name, values in maps.items():
            picture = as_image(values)
            if isinstance(lg, TensorBoardLogger):
                lg.experiment.add_image(f"physics/{name}", picture, epoch, dataformats="CHW")
            elif type(lg).__name__ == "WandbLogger":
                lg.log_image(f"physics/{name}", [picture.permute(1, 2, 0).numpy()])
