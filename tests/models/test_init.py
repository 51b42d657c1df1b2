"""Weight initialisation: each scheme's statistics, zero biases, and the config key."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepimg.config import compose as config
from deepimg.models.init import init_weights
from deepimg.training.build import build_datamodule, build_module


@pytest.mark.parametrize(
    ("scheme", "expected_std"),
    [
        ("kaiming_normal", lambda fi, fo: math.sqrt(2 / fi)),
        ("xavier_normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
        ("normal", lambda fi, fo: 0.05),
    ],
)
def test_init_schemes_give_the_expected_weight_statistics(scheme, expected_std) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(400, 300), nn.Conv2d(16, 32, 5))
    init_weights(net, scheme, std=0.05)
    for layer, (fan_in, fan_out) in zip(net, [(400, 300), (16 * 25, 32 * 25)], strict=True):
        std = float(layer.weight.detach().std())
        assert std == pytest.approx(expected_std(fan_in, fan_out), rel=0.05)
        assert float(layer.weight.detach().mean()) == pytest.approx(0, abs=0.01)
        assert torch.count_nonzero(layer.bias) == 0


def test_uniform_and_orthogonal_schemes_and_the_config_key() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(200, 100))
    init_weights(net, "kaiming_uniform")
    bound = math.sqrt(6 / 200)  # He uniform: U(-b, b), b = sqrt(6 / fan_in)
    assert float(net[0].weight.abs().max()) <= bound
    assert float(net[0].weight.abs().max()) > 0.95 * bound
    init_weights(net, "orthogonal")
    w = net[0].weight
    assert torch.allclose(w @ w.T, torch.eye(100), atol=1e-5)
    cfg = config.compose(["dataset=digits", "model=lenet", "model.init=xavier_uniform"])
    network = build_module(cfg, build_datamodule(cfg)).network
    assert all(
        torch.count_nonzero(m.bias) == 0 for m in network.modules() if isinstance(m, nn.Linear)
    )


def test_default_keeps_pytorchs_weights_and_biases() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(8, 4))
    before = [p.clone() for p in net.parameters()]
    init_weights(net, "default")
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert torch.count_nonzero(net[0].bias) > 0  # PyTorch's own small uniform biases


def test_only_conv_and_linear_layers_are_redrawn() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.Linear(8, 4))
    init_weights(net, "normal", std=0.5)
    assert torch.equal(net[1].weight, torch.ones(8)) and torch.equal(net[1].bias, torch.zeros(8))
    assert torch.count_nonzero(net[2].bias) == 0
    assert float(net[0].weight.detach().std()) == pytest.approx(0.5, rel=0.25)  # 216 weights
