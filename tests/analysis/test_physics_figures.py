"""Every physical layer leaves its parameters in the run's ``physics/``: numbers and pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepimg.analysis.physics_figures import save_maps, save_physics_figures
from deepimg.config import compose as config
from deepimg.training.build import build
from tests.config.test_config import THREE_CHANNELS

LEARNED = {  # each layer with as many parameters as it can have
    "blur": ["physical_layer.learnable=true"],
    "cameras": ["physical_layer.learnable=true"],
    "fluorescence": ["physical_layer.learnable=true"],
    "pixel_layout": ["physical_layer.learnable=true"],
    "cfa": ["physical_layer.learnable=true"],
    "exposure": ["physical_layer.learnable=true"],
    "mask": ["physical_layer.learnable=true"],
    "pupil": ["physical_layer.learnable=true", "physical_layer.defocus=0.2"],
    "quantize": ["physical_layer.learnable=true", "physical_layer.learn_step=true"],
    "sensor": ["physical_layer.parts.blur.learnable=true"],
    "shift_variant": ["physical_layer.learnable=true"],
    "single_photon": ["physical_layer.learnable=true"],
    "spectral": ["physical_layer.learnable=true"],
}


@pytest.mark.parametrize("option", config.groups()["physical_layer"])
def test_every_map_is_saved_as_numbers_and_a_picture(option: str, tmp_path: Path) -> None:
    cfg = config.compose([f"physical_layer={option}", *LEARNED.get(option, [])])
    shape = (3, 28, 28) if option in THREE_CHANNELS else (1, 28, 28)
    layer = build(cfg.physical_layer, in_shape=shape)
    scenes = torch.rand(3, *shape)
    save_physics_figures(layer, scenes, ["a", "b", "c"], tmp_path)

    assert (tmp_path / "examples.png").stat().st_size > 1000
    for name in (*layer.grids(), *layer.curves()):  # pixel grids over a scene, spectra
        assert (tmp_path / f"{name}.png").stat().st_size > 5000, name
    maps = layer.maps()
    if option in LEARNED:
        assert maps, f"{option} has learnable parameters but shows none"
    for name, value in maps.items():
        assert np.array_equal(np.load(tmp_path / f"{name}.npy"), value.float().numpy())
        picture = tmp_path / f"{name}.png"
        assert picture.is_file() == (value.ndim > 0)
        if value.ndim > 0:
            assert picture.stat().st_size > 1000


def test_without_pictures_the_design_is_kept_as_numbers_only(tmp_path: Path) -> None:
    cfg = config.compose(["physical_layer=blur", "physical_layer.learnable=true"])
    layer = build(cfg.physical_layer, in_shape=(1, 28, 28))
    save_maps(layer, tmp_path, pictures=False)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["psf.npy"]
    assert np.array_equal(np.load(tmp_path / "psf.npy"), layer.maps()["psf"].float().numpy())
