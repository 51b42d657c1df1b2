"""The zoo as a whole: every network config builds, runs a batch of every task it fits, and
states what it outputs; every other pair of task and network is refused in one line."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.models.base import OUTPUT_ARGUMENT
from deepimg.training.build import build_datamodule, build_module

MODELS = config.groups()["model"]


TASKS = config.groups()["task"]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("model", MODELS)
def test_every_task_and_model_pair_runs_a_batch_or_is_refused(task: str, model: str) -> None:
    canvas = ["dataset.canvas=12"] if task == "localize" else []
    cfg = config.compose([f"task={task}", f"model={model}", "dataset=digits", *canvas])
    datamodule = build_datamodule(cfg)
    network_class = instantiate({"_target_": "hydra.utils.get_class", "path": cfg.model._target_})
    task_class = instantiate({"_target_": "hydra.utils.get_class", "path": cfg.task._target_})
    if not set(task_class.outputs) & network_class.outputs:  # nothing the task can use
        with pytest.raises(UserError, match=f"model={model} does not fit task={task}") as err:
            build_module(cfg, datamodule)
        assert "models that fit: " in str(err.value) and "\n" not in str(err.value)
        return
    module = build_module(cfg, datamodule)
    batch = next(iter(datamodule.train_dataloader()))
    out = module.infer(batch[0], module.task.scene_depth(batch)).prediction
    n, (_, h, w) = len(batch[0]), datamodule.in_shape
    half = (-(-h // 2), -(-w // 2))  # detect's heat maps: stride 2
    expected = {"classify": (n, datamodule.num_classes), "restore": batch[0].shape,
                "localize": (n, 2), "segment": (n, 2, h, w), "detect": (n, 12, *half),
                "depth": (n, 1, h, w)}[task]  # fmt: skip
    assert out.shape == expected
    module.task.loss(out, module.task.target(batch)).backward()


@pytest.mark.parametrize("model", MODELS)
def test_every_network_builds_from_its_config_and_gives_each_output_it_states(model: str) -> None:
    """Its config's defaults, a colour scene of odd width: a vector of ``num_classes`` or a
    map of ``out_channels`` at the scene's size, for each output in ``outputs``."""
    cfg = config.compose([f"model={model}"])
    network_class = config.import_target(cfg.model._target_, "model")
    assert network_class.outputs and network_class.outputs <= set(OUTPUT_ARGUMENT)
    for output in sorted(network_class.outputs):
        size = {"vector": 3, "map": 2}[output]
        network = instantiate(
            cfg.model, in_shape=(3, 12, 9), **{OUTPUT_ARGUMENT[output]: size}, _convert_="all"
        ).eval()
        with torch.no_grad():
            out = network(torch.rand(2, 3, 12, 9))
        assert out.shape == ((2, 3) if output == "vector" else (2, 2, 12, 9)), output
