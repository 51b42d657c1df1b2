"""From a composed config to the objects of one run: data, physics, network, module, trainer."""

from __future__ import annotations

import yaml
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from deepimg.config.compose import conf_dir, import_target
from deepimg.data.datamodule import ImageDataModule
from deepimg.errors import UserError
from deepimg.tasks.base import Task
from deepimg.tasks.classify import Classify
from deepimg.training.module import ImagingModule
from deepimg.training.regularization import Regularization
from deepimg.training.transfer import freeze, init_from


def build_datamodule(cfg: DictConfig) -> ImageDataModule:
    augmentation = instantiate(cfg.augmentation) if cfg.get("augmentation") else None
    return instantiate(cfg.dataset, augmentation=augmentation, _convert_="all")


def build(node: DictConfig, **kwargs):
    """``instantiate``, with a constructor's ValueError (values that do not fit together,
    found only once the data's shape is known) turned into a one-line UserError."""
    try:
        return instantiate(node, **kwargs, _convert_="all")
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, (ValueError, UserError)):
            raise UserError(f"{node._target_}: {cause}") from None
        raise


def build_task(cfg: DictConfig, datamodule: ImageDataModule) -> Task:
    """The run's task, bound to its data; runs made before the ``task`` group classify."""
    task = build(cfg.task) if cfg.get("task") else Classify()
    try:
        task.bind(datamodule)
    except ValueError as err:
        raise UserError(f"task={task.name}: {err}") from None
    return task


def model_options() -> dict[str, str]:
    """``conf/model`` option -> the network class it builds."""
    folder = conf_dir() / "model"
    return {
        p.stem: yaml.safe_load(p.read_text())["_target_"] for p in sorted(folder.glob("*.yaml"))
    }


def check_model_fits(task: Task, network: type, target: str) -> None:
    """Refuse a network class that does not serve the task, naming the model options that do."""
    if task.name in getattr(network, "tasks", ()):
        return
    options = model_options()
    serves = {o: getattr(import_target(t, "model"), "tasks", ()) for o, t in options.items()}
    fitting = [o for o, tasks in serves.items() if task.name in tasks]
    option = next((o for o, t in options.items() if t == target), target)
    raise UserError(
        f"model={option} does not fit task={task.name}; models that fit: {', '.join(fitting)}"
    )


def check_monitor(task: Task, regularization: Regularization) -> None:
    """Early stopping can only follow a metric the task logs."""
    logged = {"val/loss", "task", *(f"val/{m}" for m in task.directions)}
    if regularization.patience is not None and regularization.monitor not in logged:
        raise UserError(
            f"regularization.monitor={regularization.monitor} is not a metric of task={task.name}; "
            f"accepted: {', '.join(sorted(logged))}"
        )


def build_module(cfg: DictConfig, datamodule: ImageDataModule) -> ImagingModule:
    """The physics sized from the data, and the network sized from what the task feeds it."""
    task = build_task(cfg, datamodule)
    network_class = import_target(cfg.model._target_, "model")
    check_model_fits(task, network_class, cfg.model._target_)
    physics = build(cfg.physical_layer, in_shape=datamodule.in_shape)
    in_shape = task.network_input_shape(physics)
    network = build(cfg.model, in_shape=in_shape, **task.network_kwargs(in_shape, network_class))
    transfer = init_from(network, cfg.init_from) if cfg.get("init_from") else None
    frozen = freeze(network, as_list(cfg.freeze)) if cfg.get("freeze") else 0
    if not any(p.requires_grad for p in [*network.parameters(), *physics.parameters()]):
        raise UserError(f"freeze={cfg.freeze} leaves nothing to train; freeze fewer parts")
    regularization = instantiate(cfg.regularization, _convert_="all")
    check_monitor(task, regularization)
    if regularization.mixes() and task.name != "classify":
        raise UserError(
            f"mixup and cutmix mix labels, which task={task.name} does not have; "
            "use them with task=classify"
        )
    module = ImagingModule(
        physics=physics,
        network=network,
        task=task,
        optimizer=instantiate(cfg.optimizer, _convert_="all"),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        regularization=regularization,
        physics_lr=cfg.get("physics_lr"),
        tta=check_tta(cfg.get("tta", "none"), task),
        head_lr=cfg.get("head_lr"),
    )
    module.transfer, module.frozen = transfer, frozen
    return module


def as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def check_tta(tta: str, task: Task) -> str:
    """Test-time augmentation moves the scene, which only a class survives unchanged."""
    if tta != "none" and task.name != "classify":
        raise UserError(
            f"tta={tta} applies to task=classify; under task={task.name} a moved scene has "
            "a moved answer. Use tta=none"
        )
    return tta
