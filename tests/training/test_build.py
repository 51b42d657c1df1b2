"""From a config to a run's objects: the network fits what the task needs, early stopping
follows a metric the task logs, in its own direction."""

from __future__ import annotations

import pytest

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.training.build import build_datamodule, build_module, build_task, check_monitor
from deepimg.training.regularization import Regularization


def early_stopping(overrides: list[str]):
    cfg = config.compose(["dataset=digits", "regularization=early_stopping", *overrides])
    config.check_config(cfg)  # what the command line checks first
    module = build_module(cfg, build_datamodule(cfg))
    task = module.task
    (stopper,) = module.regularization.callbacks(task.monitor, task.direction)
    return stopper


@pytest.mark.parametrize(
    ("task", "monitor", "mode"),
    [
        ("segment", "val/dice", "max"),
        ("segment", "val/iou", "max"),
        ("restore", "val/mse", "min"),
        ("classify", "val/f1", "max"),
        ("classify", "task", "max"),  # the task's own metric: val/acc
        ("segment", "val/loss", "min"),
    ],
)
def test_early_stopping_follows_any_metric_of_the_task_in_its_direction(
    task: str, monitor: str, mode: str
) -> None:
    stopper = early_stopping([f"task={task}", f"regularization.monitor={monitor}"])
    assert stopper.monitor == (monitor if monitor != "task" else "val/acc")
    assert stopper.mode == mode


def test_localize_can_stop_on_its_position_error() -> None:
    stopper = early_stopping(
        ["task=localize", "dataset.canvas=12", "regularization.monitor=val/error_px"]
    )
    assert (stopper.monitor, stopper.mode) == ("val/error_px", "min")


def test_a_metric_the_task_does_not_log_or_a_contrary_mode_is_one_line() -> None:
    cfg = config.compose(["dataset=digits", "task=segment"])
    task = build_task(cfg, build_datamodule(cfg))
    with pytest.raises(UserError, match="val/acc is not a metric of task=segment; accepted: "):
        check_monitor(task, Regularization(patience=2, monitor="val/acc"))
    with pytest.raises(UserError, match="mode=min contradicts val/dice, where higher is better"):
        check_monitor(task, Regularization(patience=2, monitor="val/dice", mode="min"))
    check_monitor(task, Regularization(patience=2, monitor="val/dice", mode="max"))  # agrees


@pytest.mark.parametrize(
    ("task", "model", "kwargs"),
    [
        ("localize", "cnn", {"num_classes": 2}),  # a vector: the coordinates
        ("localize", "unet", {"out_channels": 1}),  # a map: the heat map
        ("localize", "locally_connected", {"num_classes": 2}),  # either: the task's first choice
        ("segment", "locally_connected", {"out_channels": 2}),
    ],
)
def test_the_network_is_sized_for_the_output_the_task_prefers(
    task: str, model: str, kwargs: dict
) -> None:
    from deepimg.config.compose import import_target
    from deepimg.training.build import network_output

    cfg = config.compose([f"task={task}", f"model={model}", "dataset=digits", "dataset.canvas=12"])
    built = build_task(cfg, build_datamodule(cfg))
    output = network_output(built, import_target(cfg.model._target_, "model"), cfg.model._target_)
    assert built.network_kwargs((1, 12, 12), output) == kwargs
