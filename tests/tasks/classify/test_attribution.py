"""Saliency, occlusion and sliding windows on models whose answers are known in advance."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.physics.identity import Identity
from deepimg.physics.noise import Noise
from deepimg.physics.quantize import Quantize
from deepimg.tasks.classify import attribution


class Imaging(nn.Module):
    """Scene -> physical layer -> network, like ImagingModule without Lightning."""

    def __init__(self, physics: nn.Module, network: nn.Module) -> None:
        super().__init__()
        self.physics, self.network = physics, network

    def forward(self, scenes: torch.Tensor) -> torch.Tensor:
        return self.network(self.physics(scenes))


def linear_model(physics: nn.Module) -> Imaging:
    """Three class scores, each a fixed weighted sum of a 6x6 sensor image."""
    torch.manual_seed(0)
    return Imaging(physics, nn.Sequential(nn.Flatten(), nn.Linear(36, 3))).eval()


def test_saliency_of_a_linear_model_is_its_weights() -> None:
    model = linear_model(Identity((1, 6, 6)))
    scenes = torch.rand(4, 1, 6, 6)
    targets = torch.tensor([0, 1, 2, 1])
    maps, surrogate = attribution.saliency(model, model.physics, scenes, targets)
    weights = model.network[1].weight.reshape(3, 6, 6)
    assert not surrogate
    assert torch.allclose(maps, weights[targets].abs())


def test_saliency_passes_through_the_quantiser_inside_its_range() -> None:
    """Rounding has a straight-through gradient; the clip at 0 and 1 has none outside."""
    model = linear_model(Quantize((1, 6, 6), bits=2))
    scenes = torch.rand(2, 1, 6, 6)
    scenes[:, :, 0, :] = 1.5  # saturated: a change there does not reach the network
    maps, surrogate = attribution.saliency(model, model.physics, scenes, torch.tensor([0, 2]))
    weights = model.network[1].weight.reshape(3, 6, 6)
    assert not surrogate
    assert (maps[:, 0, :] == 0).all()
    assert torch.allclose(maps[:, 1:, :], weights[[0, 2], 1:, :].abs())


def test_saliency_through_exact_noise_uses_the_training_surrogate() -> None:
    """Exact Poisson noise passes no gradient; the surrogate the network trained through does."""
    model = linear_model(Noise((1, 6, 6), photons=1e4))
    scenes, targets = torch.rand(2, 1, 6, 6), torch.tensor([0, 1])
    maps, surrogate = attribution.saliency(model, model.physics, scenes, targets)
    assert surrogate and maps.abs().sum() > 0
    assert not model.physics.training  # put back in evaluation mode


def test_window_starts_cover_the_image_to_its_far_edge() -> None:
    assert attribution.window_starts(28, 4, 2) == list(range(0, 25, 2))
    assert attribution.window_starts(10, 4, 4) == [0, 4, 6]
    assert attribution.window_starts(4, 4, 2) == [0]


class BrightCorner(nn.Module):
    """Class 1's logit grows with the brightness of the top-left 4x4 pixels; class 0's is 0."""

    def forward(self, scenes: torch.Tensor) -> torch.Tensor:
        corner = scenes[:, 0, :4, :4].mean(dim=(1, 2))
        return torch.stack([torch.zeros_like(corner), 8 * corner], dim=1)


def test_occlusion_is_positive_where_the_evidence_is_and_zero_elsewhere() -> None:
    scene = torch.zeros(1, 12, 12)
    scene[:, :4, :4] = 1.0
    heat = attribution.occlusion(BrightCorner(), scene, target=1, patch=3, stride=1)
    assert heat.shape == (12, 12)
    assert (heat[:4, :4] > 0).all()
    assert (heat[6:, :] == 0).all() and (heat[:, 6:] == 0).all()  # squares that never touch it


def test_mosaic_tiles_scenes_row_by_row() -> None:
    scenes = torch.arange(4.0).reshape(4, 1, 1, 1).expand(4, 1, 3, 3)
    image = attribution.mosaic(scenes, side=2)
    assert image.shape == (1, 6, 6)
    assert image[0, ::3, ::3].tolist() == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="needs 9 scenes"):
        attribution.mosaic(scenes, side=3)


class Brightness(nn.Module):
    """Two classes: dark (0) and bright (1), by the mean of the window."""

    def forward(self, scenes: torch.Tensor) -> torch.Tensor:
        mean = scenes.mean(dim=(1, 2, 3))
        return torch.stack([20 * (0.5 - mean), 20 * (mean - 0.5)], dim=1)


def test_sliding_window_finds_the_bright_tile() -> None:
    tiles = torch.zeros(4, 1, 5, 5)
    tiles[1] = 1.0  # top-right tile of the mosaic
    image = attribution.mosaic(tiles, side=2)
    probabilities = attribution.sliding_window(Brightness(), image, (5, 5), stride=5)
    assert probabilities.shape == (2, 2, 2)
    assert torch.allclose(probabilities.sum(dim=0), torch.ones(2, 2))
    assert probabilities[1].argmax() == 1 and probabilities[1, 0, 1] > 0.99
    finer = attribution.sliding_window(Brightness(), image, (5, 5), stride=1)
    assert finer.shape == (2, 6, 6)  # (10 - 5) / 1 + 1 positions each way
