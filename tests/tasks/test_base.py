"""The contract every task keeps: its monitor, objective and directions, the defaults a task
inherits, and the task contract under every physical layer."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F
import yaml

from deepimg.analysis.run_analysis import RunAnalysis
from deepimg.config import compose as config
from deepimg.tasks.base import Task, objective_direction
from deepimg.training.build import build_datamodule, build_module
from tests.tasks.restore.test_task import LEARN


class Toy(Task):
    """The least a task must fill in; everything else is the contract's default."""

    name = "toy"
    monitor_metric = "error"
    directions: ClassVar = {"error": "min", "hits": "max"}
    outputs: ClassVar = ("vector",)

    def network_kwargs(self, in_shape, output):
        return {"num_classes": 2}

    def target(self, batch):
        return batch[1]

    def loss(self, prediction, target):
        return F.mse_loss(prediction, target)

    def metrics(self):
        return {}


class Halving:
    """A physical layer's interface: (1, 4, 4) measurements of (1, 8, 8) scenes."""

    in_shape, out_shape = (1, 8, 8), (1, 4, 4)

    def to_scene(self, measurement: torch.Tensor) -> torch.Tensor:
        return measurement.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def test_monitor_mode_objective_and_headline_follow_the_monitored_metric() -> None:
    task = Toy()
    assert task.monitor == "val/error"
    assert task.mode == "min"
    assert task.objective == "val/error_best"
    assert task.headline == ["test/error", "test/hits"]


def test_direction_knows_the_loss_and_every_validation_metric_and_nothing_else() -> None:
    task = Toy()
    assert task.direction("val/loss") == "min"
    assert task.direction("val/error") == "min" and task.direction("val/hits") == "max"
    assert task.direction("val/acc") is None  # a metric this task does not log
    assert task.direction("test/hits") is None  # not a validation metric
    assert task.direction("hits") is None


def test_the_network_reads_the_measurement_unless_the_task_reads_the_scene_estimate() -> None:
    physics, measurement = Halving(), torch.rand(2, 1, 4, 4)
    task = Toy()
    assert task.network_input(physics, measurement) is measurement
    assert task.network_input_shape(physics) == (1, 4, 4)
    task.reads_scene_estimate = True
    estimate = task.network_input(physics, measurement)
    assert estimate.shape == (2, 1, 8, 8) and torch.equal(estimate[..., ::2, ::2], measurement)
    assert task.network_input_shape(physics) == (1, 8, 8)


def test_the_defaults_pass_the_output_through_and_have_no_baseline_metrics() -> None:
    task, output, network_input = Toy(), torch.rand(3, 2), torch.rand(3, 2)
    assert task.prediction(output, network_input) is output
    assert task.score(output) is output
    assert torch.equal(task.baseline(network_input), network_input)
    assert task.baseline_metrics() == {}
    assert task.analysis() is RunAnalysis


def test_combine_is_the_mean_and_mean_probabilities_the_log_of_the_mean_softmax() -> None:
    torch.manual_seed(0)
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    assert torch.allclose(Toy().combine([a, b]), (a + b) / 2)
    mean = Task.mean_probabilities([a, b])
    assert torch.allclose(mean.exp(), (a.softmax(dim=1) + b.softmax(dim=1)) / 2, atol=1e-6)
    assert torch.allclose(mean.exp().sum(dim=1), torch.ones(4), atol=1e-6)
    assert torch.allclose(Task.mean_probabilities([a]), a.log_softmax(dim=1), atol=1e-6)


@pytest.mark.parametrize("task", config.groups()["task"])
def test_each_tasks_objective_direction_is_its_monitors_direction(task: str) -> None:
    target = yaml.safe_load((config.conf_dir() / "task" / f"{task}.yaml").read_text())["task"][
        "_target_"
    ]
    task_class = config.import_target(target, "task")
    assert task_class.monitor_metric in task_class.directions
    mode = task_class.directions[task_class.monitor_metric]
    assert objective_direction(target) == {"max": "maximize", "min": "minimize"}[mode]


@pytest.mark.parametrize(
    "target", ["os.system", "deepimg.tasks.base.objective_direction", "deepimg.tasks.base.Mode"]
)
def test_objective_direction_refuses_anything_but_a_deepimg_task(target: str) -> None:
    with pytest.raises(ValueError, match="is not a deepimg task"):
        objective_direction(target)


# ---- every physical layer under the localize and segment tasks ----------------------------


@pytest.fixture(scope="module")
def colour_patches():
    cfg = config.compose(
        ["dataset=patches", "dataset.patch=16", "dataset.train_patches=64", "dataset.val_patches=16",
         "dataset.test_patches=16"]
    )  # fmt: skip
    return build_datamodule(cfg)


@pytest.mark.parametrize("task", ["localize", "segment"])
@pytest.mark.parametrize("layer", config.groups()["physical_layer"])
def test_every_layer_trains_a_batch_of_each_task(
    layer, task, colour_canvas, colour_patches
) -> None:
    data = colour_canvas if task == "localize" else colour_patches
    overrides = [
        f"task={task}",
        "dataset=patches",
        f"physical_layer={layer}",
        *LEARN.get(layer, []),
    ]
    if task == "localize":
        overrides += ["dataset.canvas=24", "model=cnn"]
    if layer in ("downsample", "pixel_layout"):
        overrides.append("physical_layer.pixels=8")
    if layer == "sensor":
        overrides.append("physical_layer.parts.downsample.pixels=8")
    module = build_module(config.compose(overrides), data)
    batch = next(iter(data.train_dataloader()))
    module.train()
    with torch.no_grad():  # as after a first step: a zero-initialised last layer passes no gradient
        for p in module.network.parameters():
            p.add_(0.01 * torch.randn_like(p))
    prediction = module(batch[0])
    expected = (len(batch[0]), 2) if task == "localize" else (len(batch[0]), 2, 16, 16)
    assert prediction.shape == expected
    loss = module.task.loss(prediction, module.task.target(batch))
    assert torch.isfinite(loss)
    loss.backward()
    for name, p in module.named_parameters():
        if p.requires_grad and name.startswith("physics."):
            assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {name}"
