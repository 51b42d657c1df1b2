"""The information objective (IDEAL's): the Gaussian bits per pixel of a batch, in torch, with
a gradient that reaches the design; and the info stage, which trains the design alone."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from deepimg.config import compose as config
from deepimg.training.build import build
from deepimg.training.information import (
    aligned_patches,
    batch_bits_per_pixel,
    design_for_information,
)
from tests.conftest import run_main


@pytest.mark.parametrize("snr", [0.5, 3.0, 30.0])
def test_independent_gaussian_pixels_give_half_log2_one_plus_snr(snr: float) -> None:
    generator = torch.Generator().manual_seed(0)
    scenes = 100 + math.sqrt(snr) * torch.randn(256, 1, 32, 32, generator=generator)
    measured = scenes + torch.randn(scenes.shape, generator=generator)  # noise variance 1
    bits = batch_bits_per_pixel(measured, torch.ones_like(measured))
    assert float(bits) == pytest.approx(0.5 * math.log2(1 + snr), rel=0.03)


def test_patches_start_at_multiples_of_the_period() -> None:
    images = torch.arange(36.0).reshape(1, 1, 6, 6)
    crops = aligned_patches(images, 2, (2, 2))
    assert crops.shape == (9, 4)  # 3 x 3 positions, each 2 x 2
    assert crops[:, 0].tolist() == [0, 2, 4, 12, 14, 16, 24, 26, 28]  # top-left corners


def test_the_gradient_reaches_a_learned_colour_filter_array() -> None:
    cfg = config.compose(
        ["physical_layer=cfa", "physical_layer.photons=100", "physical_layer.learnable=true"]
    )
    layer = build(cfg.physical_layer, in_shape=(3, 16, 16)).train()
    bits = batch_bits_per_pixel(*layer.photon_counts(torch.rand(32, 3, 16, 16)), layer.period)
    bits.backward()
    grads = [p.grad for p in layer.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_designing_for_information_raises_the_bits_of_a_colour_filter_array() -> None:
    """The info passes alone (no network) move a learned CFA away from Bayer, to more bits,
    on crops of real photographs."""
    from deepimg.training.build import build_datamodule

    cfg = config.compose(
        ["task=restore", "dataset=patches", "dataset.train_patches=256", "physical_layer=cfa",
         "physical_layer.photons=1000", "physical_layer.learnable=true"]
    )  # fmt: skip
    datamodule = build_datamodule(cfg)
    datamodule.setup()
    layer = build(cfg.physical_layer, in_shape=datamodule.in_shape)
    start = layer.filters(hard=True).clone()
    batches = datamodule.train_dataloader()
    curve = design_for_information(layer, batches, 30, lr=1.0, device=torch.device("cpu"))
    assert len(curve) == 30 and curve[-1] > curve[0] + 0.02
    assert not torch.equal(layer.filters(hard=True), start)


@pytest.mark.slow
def test_stages_ideal_designs_for_information_then_the_network_learns_the_frozen_design(
    tmp_path: Path,
) -> None:
    """stages=ideal: the info passes save their design and bits; then the epochs train the
    network alone (stages 0 warmup and 3 decode), and the tested design is the info one."""
    import numpy as np
    import pandas as pd

    run = tmp_path / "run"
    done = run_main(
        "train", "task=restore", "dataset=patches", "dataset.train_patches=128",
        "dataset.val_patches=32", "dataset.test_patches=32", "dataset.patch=16",
        "physical_layer=cfa", "physical_layer.photons=1000", "physical_layer.learnable=true",
        "stages=ideal", "stages.info=3", "trainer.max_epochs=2", "model.channels=8",
        "analysis=none", "trainer.enable_progress_bar=false", f"hydra.run.dir={run}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((run / "metrics.json").read_text())["status"] == "completed"
    info = run / "physics" / "stages" / "info"
    assert len(pd.read_csv(info / "bits_per_pass.csv")) == 3
    assert np.array_equal(np.load(info / "cfa.npy"), np.load(run / "physics" / "cfa.npy"))
    stages = pd.read_csv(run / "metrics.csv").dropna(subset=["stage"])["stage"].tolist()
    assert stages == [0.0, 3.0]


def test_info_passes_on_a_layer_without_noise_are_refused_in_one_line(tmp_path: Path) -> None:
    result = run_main(
        "train", "dataset=digits", "physical_layer=blur", "physical_layer.learnable=true",
        "stages=ideal", "trainer.max_epochs=2", "analysis=none",
        "trainer.enable_progress_bar=false", "hydra.run.dir=run", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if not line.startswith("[")]
    assert len(lines) == 1 and "stages.info=30: Blur has no noise model" in lines[0]
