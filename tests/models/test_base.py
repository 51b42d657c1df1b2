"""What every network states about itself: what it outputs, and how its weights start."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.base import OUTPUT_ARGUMENT, Network


class Wide(Network):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fc = nn.Linear(500, 400)
        self.initialize()


def test_a_network_outputs_a_vector_unless_it_says_otherwise() -> None:
    assert Network.outputs == frozenset({"vector"})
    assert OUTPUT_ARGUMENT == {"vector": "num_classes", "map": "out_channels"}


def test_initialize_applies_the_networks_init_scheme_and_std() -> None:
    torch.manual_seed(0)
    net = Wide(init="normal", init_std=0.2)
    assert float(net.fc.weight.detach().std()) == pytest.approx(0.2, rel=0.02)
    assert torch.count_nonzero(net.fc.bias) == 0
    default = Wide()
    assert float(default.fc.weight.detach().abs().max()) <= 1 / 500**0.5  # PyTorch's own, kept
    assert torch.count_nonzero(default.fc.bias) > 0
