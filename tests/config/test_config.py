"""Every config option composes, is accepted by its target's signature, and builds."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.training.build import build

OPTIONS = [(group, option) for group, options in config.groups().items() for option in options]


def test_every_group_of_the_design_exists() -> None:
    expected = {
        "dataset",
        "physical_layer",
        "model",
        "optimizer",
        "augmentation",
        "regularization",
        "trainer",
        "analysis",
        "task",
    }
    assert expected <= set(config.groups())


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes_and_passes_the_check(group: str, option: str) -> None:
    required = {"folder": ["dataset.root=/tmp"]}.get(option, [])  # options with a ??? value
    cfg = config.compose([f"{group}={option}", *required])
    config.check_config(cfg)
    assert cfg.seed == 0


COLOUR_ONLY = {"cfa", "illumination"}  # layers that need a multi-channel scene
# Scenes of three channels: the colour layers, and fluorescence (its three default dyes).
THREE_CHANNELS = COLOUR_ONLY | {"fluorescence"}


@pytest.mark.parametrize("option", config.groups()["physical_layer"])
def test_physical_layer_runs_a_forward_pass(option: str) -> None:
    cfg = config.compose([f"physical_layer={option}"])
    shape = (3, 28, 28) if option in THREE_CHANNELS else (1, 28, 28)
    layer = build(cfg.physical_layer, in_shape=shape)
    for training in (True, False):
        layer.train(training)
        out = layer(torch.rand(2, *shape))
        assert out.shape == (2, *layer.out_shape) and torch.isfinite(out).all()


@pytest.mark.parametrize("option", sorted(COLOUR_ONLY))
def test_colour_layers_refuse_a_grayscale_scene_with_one_line(option: str) -> None:
    cfg = config.compose([f"physical_layer={option}"])
    with pytest.raises(UserError, match="channel") as err:
        build(cfg.physical_layer, in_shape=(1, 28, 28))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["model.depth=3", "model.norm=group", "model.activation=gelu", "model.pooling=avg"],
        ["model.norm=layer", "model.activation=elu", "model.fc=[]"],
        ["model.norm=instance", "model.activation=tanh", "model.kernel_size=5", "model.padding=2"],
        ["model.norm=none", "model.activation=sigmoid", "model.stride=2", "model.pooling=none"],
        ["model.activation=leaky_relu", "model.dropout=0.5", "model.fc=[256,64]"],
    ],
)
def test_cnn_options_build_and_classify(overrides: list[str]) -> None:
    cfg = config.compose(overrides)
    config.check_config(cfg)
    network = instantiate(cfg.model, in_shape=(1, 28, 28), num_classes=10, _convert_="all")
    assert network(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("optimizer", config.groups()["optimizer"])
@pytest.mark.parametrize("scheduler", config.groups()["scheduler"])
def test_optimizer_and_schedule_build(optimizer: str, scheduler: str) -> None:
    cfg = config.compose([f"optimizer={optimizer}", f"scheduler={scheduler}"])
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = instantiate(cfg.optimizer)(params=params)
    if cfg.scheduler is not None:
        sched = instantiate(cfg.scheduler)(optimizer=opt, total_steps=100)
        for _ in range(100):
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] < cfg.optimizer.lr  # every schedule ends below its start


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "physical_layer.bits=abc",
            "physical_layer.bits='abc' is not accepted; expected an integer in 1..16",
        ),
        ("physical_layer.bits=1.5", "expected an integer in 1..16"),
        ("physical_layer.bits=17", "physical_layer.bits=17 is not accepted"),
        ("physical_layer.bits=0", "in 1..16"),
        ("model.pooling=min", "expected one of max, avg, none"),
        ("optimizer.lr=fast", "optimizer.lr='fast'"),
        ("dataset.root=/no/such/folder", "existing folder"),
        ("trainer.max_epochs=two", "trainer.max_epochs"),
        ("physics_lr=-1", "physics_lr=-1 is not accepted; expected a number"),
        ("seed=1.5", "seed=1.5 is not accepted; expected an integer"),
    ],
)
def test_bad_values_are_named_with_what_is_accepted(override: str, message: str) -> None:
    with pytest.raises(UserError) as err:
        config.check_config(config.compose([override]))
    assert message in str(err.value)


def test_unknown_group_option_lists_the_options() -> None:
    with pytest.raises(UserError, match="unknown physical_layer option 'blurr'; accepted: ") as err:
        config.compose(["physical_layer=blurr"])
    accepted = str(err.value).split("accepted: ")[1].split(", ")
    assert accepted == config.groups()["physical_layer"]


def test_a_required_value_left_unset_is_named() -> None:
    with pytest.raises(UserError, match=r"dataset.root is required: add dataset.root=\.\.\."):
        config.check_config(config.compose(["dataset=folder"]))


def test_unknown_key_of_a_target_is_refused() -> None:
    with pytest.raises(UserError, match="model.widht is not a parameter"):
        config.check_config(config.compose(["+model.widht=3"]))
