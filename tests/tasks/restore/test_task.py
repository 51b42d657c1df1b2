"""Restoration: the task's metrics and losses against hand-computed values, every physical
layer's classical estimate and one training batch through it, and the residual network."""

from __future__ import annotations

import pytest
import torch

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.physics.cfa import ColorFilterArray
from deepimg.physics.downsample import Downsample
from deepimg.physics.exposure import Exposure
from deepimg.physics.functional import normalized_convolution
from deepimg.tasks.restore.task import Restore
from deepimg.training.build import build_datamodule, build_module
from tests.config.test_config import COLOUR_ONLY


class Data:
    in_shape, dynamic_range = (1, 8, 8), 1.0


def bound_task(**kwargs) -> Restore:
    task = Restore(**kwargs)
    task.bind(Data())
    return task


# ---- metrics and losses ----------------------------------------------------------------


def test_ssim_by_hand() -> None:
    """Constant images: variance and covariance vanish, SSIM is the luminance term alone."""
    task = bound_task()
    a, b = torch.full((1, 1, 8, 8), 0.5), torch.full((1, 1, 8, 8), 0.6)
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * 0.5 * 0.6 + c1) / (0.5**2 + 0.6**2 + c1)
    assert float(task.ssim()(b, a)) == pytest.approx(expected, rel=1e-5)
    x = torch.rand(2, 1, 8, 8)
    assert float(task.ssim()(x, x)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("loss", ["l1", "mse", "ssim_l1"])
def test_losses_vanish_on_a_perfect_restoration_and_grow_with_error(loss: str) -> None:
    task = bound_task(loss=loss)
    x = torch.rand(4, 1, 8, 8)
    assert float(task.loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(task.loss(x + 0.05, x)) < float(task.loss(x + 0.2, x))


def test_metrics_judge_the_prediction_clipped_to_full_scale() -> None:
    task = bound_task()
    assert torch.equal(task.score(torch.tensor([-0.5, 0.5, 1.5])), torch.tensor([0.0, 0.5, 1.0]))


# ---- classical estimates ----------------------------------------------------------------
# (They test the physical layers' to_scene, which restoration reads; tests/physics/ is their
# mirror.)


def test_normalized_convolution_is_bilinear_interpolation_between_neighbours() -> None:
    values = torch.zeros(1, 1, 1, 5)
    values[..., 0], values[..., 2], values[..., 4] = 1.0, 3.0, 5.0
    weights = torch.tensor([1.0, 0, 1, 0, 1]).view(1, 1, 1, 5)
    filled = normalized_convolution(values, weights)
    assert filled.flatten().tolist() == pytest.approx([1, 2, 3, 4, 5], rel=1e-5)


def test_bayer_demosaicking_recovers_a_flat_colour_and_keeps_sampled_values() -> None:
    cfa = ColorFilterArray((3, 8, 8), pattern="bayer").eval()
    scene = torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1).expand(2, 3, 8, 8)
    estimate = cfa.to_scene(cfa(scene))
    assert torch.allclose(estimate, scene, atol=1e-5)
    ramp = torch.rand(1, 3, 8, 8)
    mosaic = cfa(ramp)
    estimate = cfa.to_scene(mosaic)
    assert torch.allclose(estimate[0, 0, 0, 0], ramp[0, 0, 0, 0])  # R measured at (0, 0)
    assert torch.allclose(estimate[0, 2, 1, 1], ramp[0, 2, 1, 1])  # B measured at (1, 1)


def test_downsampling_is_undone_by_bilinear_resize_to_the_scene_size() -> None:
    layer = Downsample((1, 28, 28), pixels=7)
    flat = torch.full((1, 1, 28, 28), 0.3)
    assert layer.to_scene(layer(flat)).shape == (1, 1, 28, 28)
    assert torch.allclose(layer.to_scene(layer(flat)), flat)


def test_exposure_is_divided_out_and_saturated_pixels_filled_from_neighbours() -> None:
    layer = Exposure((1, 8, 8), tile=2, exposures=[1, 2, 4, 8], bits=12).eval()
    scene = torch.full((1, 1, 8, 8), 0.2)  # saturates the exposure-8 pixels (1.6 > 1)
    measurement = layer(scene)
    assert (measurement == 1).sum() == 16
    assert torch.allclose(layer.to_scene(measurement), scene, atol=1e-3)


# ---- every physical layer under restore ---------------------------------------------------

LEARN = {  # the learnable version of each layer that has one
    "blur": ["physical_layer.learnable=true"],
    "cfa": ["physical_layer.learnable=true"],
    "exposure": ["physical_layer.learnable=true"],
    "mask": ["physical_layer.learnable=true"],
    # the learned step (LSQ); a learned gain is divided out again by the classical estimate,
    # and through the straight-through rounding that leaves it no gradient under restore
    "quantize": ["physical_layer.learn_step=true"],
    "spectral": ["physical_layer.learnable=true"],
    "pupil": ["physical_layer.learnable=true"],
    "single_photon": ["physical_layer.learnable=true"],
    "illumination": [],  # learnable by default
}


@pytest.mark.parametrize("layer", config.groups()["physical_layer"])
def test_every_layer_trains_a_restoration_batch(layer: str, patches_data) -> None:
    """One training step through the layer: the loss is finite, the prediction has the scene's
    shape, and the gradient reaches the network and every learnable physical parameter."""
    overrides = [
        "task=restore",
        "dataset=patches",
        f"physical_layer={layer}",
        *LEARN.get(layer, []),
    ]
    if layer in ("downsample", "pixel_layout"):
        overrides.append("physical_layer.pixels=8")
    if layer == "sensor":
        overrides.append("physical_layer.parts.downsample.pixels=8")
    cfg = config.compose(overrides)
    config.check_config(cfg)
    module = build_module(cfg, patches_data)
    scenes, labels = next(iter(patches_data.train_dataloader()))
    module.train()
    prediction, network_input, _ = module.infer(scenes)
    assert prediction.shape == scenes.shape == network_input.shape
    loss = module.task.loss(prediction, module.task.target((scenes, labels)))
    assert torch.isfinite(loss)
    if layer == "none":  # the identity leaves nothing to restore: the estimate is the scene
        assert float(loss.detach()) == 0.0
        return
    loss.backward()
    for name, p in module.named_parameters():
        if p.requires_grad and name.startswith("physics."):
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert p.grad.abs().sum() > 0, f"no gradient reaches {name}"
    grads = [p.grad for n, p in module.named_parameters() if n.startswith("network.")]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_colour_layers_stay_refused_on_gray_scenes_under_restore() -> None:
    for layer in sorted(COLOUR_ONLY):
        cfg = config.compose(["task=restore", "dataset=digits", f"physical_layer={layer}"])
        with pytest.raises(UserError, match="channel"):
            build_module(cfg, build_datamodule(cfg))


def test_a_residual_network_starts_from_the_classical_estimate() -> None:
    cfg = config.compose(["task=restore", "dataset=digits", "physical_layer=blur"])
    module = build_module(cfg, build_datamodule(cfg)).eval()
    scenes = torch.rand(2, 1, 8, 8)
    prediction, estimate, _ = module.infer(scenes)
    assert torch.equal(prediction, estimate)  # the last layer starts at zero
