"""The figures of a localisation run: the sensor's active pixels, and the test split's true and
predicted centres."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from deepimg.tasks.localize.figures import EXAMPLES, active_pixels, locate_test_split


def physics_with(**maps) -> SimpleNamespace:
    return SimpleNamespace(maps=lambda: maps)


def test_active_pixels_are_the_mask_of_the_layer_or_of_a_part_of_its_chain() -> None:
    mask = torch.eye(3, requires_grad=True)
    assert torch.equal(active_pixels(physics_with(psf=torch.ones(3, 3), mask=mask)), mask)
    found = active_pixels(physics_with(psf=torch.ones(3, 3), sensor_mask=mask))
    assert torch.equal(found, mask) and not found.requires_grad
    assert active_pixels(physics_with(psf=torch.ones(3, 3), masked=mask)) is None
    assert active_pixels(physics_with()) is None


class Corner(nn.Module):
    """Predicts the first two pixels of each canvas as its position."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, scenes: torch.Tensor) -> torch.Tensor:
        return scenes[:, 0, 0, :2]


def test_the_test_split_yields_true_and_predicted_centres_and_the_first_canvases() -> None:
    torch.manual_seed(0)
    batches = [(torch.rand(n, 1, 6, 6), torch.zeros(n), {"position": torch.rand(n, 2) * 6})
               for n in (10, 3)]  # fmt: skip
    result = locate_test_split(Corner(), batches)
    assert np.allclose(result["true"], torch.cat([b[2]["position"] for b in batches]).numpy())
    predicted = torch.cat([b[0][:, 0, 0, :2] for b in batches]).numpy()
    assert np.allclose(result["predicted"], predicted)
    assert torch.equal(result["canvases"], batches[0][0][:EXAMPLES])
