"""From a composed config to the objects of one run: data, physics, network, module, trainer."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

import yaml
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, open_dict

from deepimg.config.compose import conf_dir, import_target
from deepimg.data.datamodule import ImageDataModule
from deepimg.errors import UserError
from deepimg.models.base import Output
from deepimg.physics.base import PhysicalLayer
from deepimg.tasks.base import Task
from deepimg.tasks.classify import Classify
from deepimg.training.module import ImagingModule
from deepimg.training.regularization import Regularization
from deepimg.training.stages import Stages
from deepimg.training.transfer import freeze, init_from


def build_datamodule(cfg: DictConfig) -> ImageDataModule:
    augmentation = instantiate(cfg.augmentation) if cfg.get("augmentation") else None
    return instantiate(cfg.dataset, augmentation=augmentation, _convert_="all")


def build(node: DictConfig, **kwargs):
    """``instantiate``, with a constructor's ValueError (values that do not fit together,
    found only once the data's shape is known) turned into a one-line UserError. A physical
    layer's arguments that hold configs of their own (the sensor's parts) reach it as
    factories (``with_part_factories``)."""
    node, kwargs = with_part_factories(node, kwargs)
    try:
        return instantiate(node, **kwargs, _convert_="all")
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, (ValueError, UserError)):
            raise UserError(f"{node._target_}: {cause}") from None
        raise


def with_part_factories(node: DictConfig, kwargs: dict[str, Any]) -> tuple[DictConfig, dict]:
    """``node`` and ``kwargs`` for ``instantiate``; for a physical layer, each argument that
    holds ``_target_`` configs (the sensor's ``parts``: name -> layer config) moves from
    ``node`` to ``kwargs``, every such config in it a factory ``f(in_shape) -> PhysicalLayer``
    (``part_factory``), so the layer sizes its parts in turn. Physics imports no Hydra."""
    if not is_physical_layer(node):
        return node, kwargs
    parts = [
        key
        for key in node
        if not str(key).startswith("_") and key not in kwargs and holds_target(node[key])
    ]
    if not parts:
        return node, kwargs
    rest = copy.deepcopy(node)
    rest._set_parent(node._get_parent())  # interpolations resolve as in the whole config
    with open_dict(rest):
        for key in parts:
            del rest[key]
    return rest, {**kwargs, **{key: as_factories(node[key]) for key in parts}}


def is_physical_layer(node: DictConfig) -> bool:
    try:
        target = import_target(str(node.get("_target_")), "physical_layer")
    except UserError:  # Hydra's own error says it when instantiating
        return False
    return inspect.isclass(target) and issubclass(target, PhysicalLayer)


def holds_target(value: Any) -> bool:
    if isinstance(value, DictConfig):
        return "_target_" in value or any(holds_target(value[k]) for k in value)
    if isinstance(value, ListConfig):
        return any(holds_target(v) for v in value)
    return False


def as_factories(value: Any) -> Any:
    """``value`` as Python containers, with each ``_target_`` config a ``part_factory``."""
    if isinstance(value, DictConfig):
        if "_target_" in value:
            return part_factory(value)
        return {key: as_factories(value[key]) for key in value}
    if isinstance(value, ListConfig):
        return [as_factories(v) for v in value]
    return value


def part_factory(node: DictConfig) -> Callable[[tuple[int, int, int]], Any]:
    """``f(in_shape)``: the layer ``node`` configures, sized from ``in_shape``; its
    ValueError passes unchanged, so the layer that builds it names the part."""

    def factory(in_shape: tuple[int, int, int]) -> Any:
        part, kwargs = with_part_factories(node, {"in_shape": in_shape})
        try:
            return instantiate(part, **kwargs, _convert_="all")
        except InstantiationException as err:
            if isinstance(err.__cause__, ValueError):
                raise err.__cause__ from None
            raise

    return factory


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


def network_output(task: Task, network: type, target: str) -> Output:
    """What the network will output for the task: the task's first choice that the network
    can give. A network that gives none of them is refused, naming the model options that fit."""
    offered = getattr(network, "outputs", frozenset())
    for output in task.outputs:
        if output in offered:
            return output
    options = model_options()
    fitting = [
        o
        for o, t in options.items()
        if set(task.outputs) & getattr(import_target(t, "model"), "outputs", frozenset())
    ]
    option = next((o for o, t in options.items() if t == target), target)
    wanted = " or ".join(f"a {o}" for o in task.outputs)
    raise UserError(
        f"model={option} does not fit task={task.name} (it needs {wanted}); "
        f"models that fit: {', '.join(fitting)}"
    )


def check_monitor(task: Task, regularization: Regularization) -> None:
    """Early stopping can only follow a metric the task logs, in the metric's own direction."""
    if regularization.patience is None or regularization.monitor == "task":
        return
    logged = ["val/loss", "task", *(f"val/{m}" for m in task.directions)]
    direction = task.direction(regularization.monitor)
    if direction is None:
        raise UserError(
            f"regularization.monitor={regularization.monitor} is not a metric of task={task.name}; "
            f"accepted: {', '.join(logged)}"
        )
    if regularization.mode is not None and regularization.mode != direction:
        better = "higher" if direction == "max" else "lower"
        raise UserError(
            f"regularization.mode={regularization.mode} contradicts "
            f"{regularization.monitor}, where {better} is better; leave mode out (null)"
        )


def build_stages(cfg: DictConfig) -> Stages:
    """The ``stages`` group (runs made before it existed: one joint stage, the whole run)."""
    return instantiate(cfg.stages, _convert_="all") if cfg.get("stages") else Stages()


def check_stages(cfg: DictConfig, learnable: bool) -> None:
    """The stages of a learned design add up to ``trainer.max_epochs``: one line if not."""
    try:
        build_stages(cfg).plan(int(cfg.trainer.max_epochs), learnable)
    except ValueError as err:
        raise UserError(str(err)) from None


def build_module(cfg: DictConfig, datamodule: ImageDataModule) -> ImagingModule:
    """The physics sized from the data, and the network sized from what the task feeds it."""
    task = build_task(cfg, datamodule)
    network_class = import_target(cfg.model._target_, "model")
    output = network_output(task, network_class, cfg.model._target_)
    physics = build(cfg.physical_layer, in_shape=datamodule.in_shape)
    try:
        task.check(physics)
    except ValueError as err:
        raise UserError(f"task={task.name}: {err}") from None
    check_stages(cfg, physics.learnable)
    in_shape = task.network_input_shape(physics)
    network = build(cfg.model, in_shape=in_shape, **task.network_kwargs(in_shape, output))
    transfer = init_from(network, cfg.init_from) if cfg.get("init_from") else None
    frozen = freeze(network, as_list(cfg.freeze)) if cfg.get("freeze") else 0
    if not any(p.requires_grad for p in [*network.parameters(), *physics.parameters()]):
        raise UserError(f"freeze={cfg.freeze} leaves nothing to train; freeze fewer parts")
    regularization = instantiate(cfg.regularization, _convert_="all")
    check_monitor(task, regularization)
    if regularization.mixes() and not task.mixes_labels:
        raise UserError(
            f"mixup and cutmix mix two scenes' targets, which task={task.name} cannot; "
            "set regularization.mixup=0 and regularization.cutmix=0"
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
    """Test-time augmentation moves the scene, which only a flip-invariant answer survives."""
    if tta != "none" and not task.flip_invariant:
        raise UserError(
            f"tta={tta} needs an answer that a mirrored or shifted scene keeps; under "
            f"task={task.name} a moved scene has a moved answer. Use tta=none"
        )
    return tta
