"""Localisation: the position error against hand-computed values, the soft-argmax and
heat-map heads, and the canvas it gets by default."""

from __future__ import annotations

import pytest
import torch

from deepimg.config import compose as config
from deepimg.tasks.localize.task import PositionError, soft_argmax
from deepimg.training.build import build_datamodule, build_module


def test_error_px_and_within_2px_of_known_offsets() -> None:
    target = torch.zeros(4, 2)
    preds = torch.tensor([[3.0, 4.0], [1.0, 0.0], [0.0, -2.0], [0.0, 0.0]])
    assert float(PositionError()(preds, target)) == pytest.approx((5 + 1 + 2 + 0) / 4)
    assert float(PositionError(within=2.0)(preds, target)) == pytest.approx(3 / 4)


def test_soft_argmax_finds_a_sharp_peak_and_the_centre_of_a_flat_map() -> None:
    heat = torch.full((2, 1, 7, 9), -50.0)
    heat[0, 0, 2, 6] = 50.0
    heat[1] = 0.0
    assert torch.allclose(soft_argmax(heat), torch.tensor([[2.0, 6.0], [3.0, 4.0]]), atol=1e-4)


def test_a_unet_localises_through_a_heat_map(colour_canvas) -> None:
    cfg = config.compose(["task=localize", "dataset=patches", "dataset.canvas=24", "model=unet"])
    module = build_module(cfg, colour_canvas).eval()
    scenes = next(iter(colour_canvas.test_dataloader()))[0]
    # the heat map starts flat (the last layer is zero): every answer is the canvas centre
    assert torch.allclose(module(scenes), torch.full((len(scenes), 2), 11.5), atol=1e-4)


def test_localize_without_a_canvas_gets_one_twice_the_scene_side() -> None:
    cfg = config.compose(["task=localize", "dataset=digits"])
    data = build_datamodule(cfg)
    module = build_module(cfg, data)
    assert data.in_shape == (1, 16, 16) and module.task.size == 16
    batch = next(iter(data.train_dataloader()))
    assert batch[0].shape[-2:] == (16, 16) and batch[2]["position"].max() <= 16 - 4.5
