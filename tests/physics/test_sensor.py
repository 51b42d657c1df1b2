"""The sensor chain: parts in order, sized in turn, their keys still short keys on the command line."""

from __future__ import annotations

import pytest
import torch

from deepimg.commands.preflight import prepare_train_args
from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.physics.blur import Blur
from deepimg.physics.downsample import Downsample
from deepimg.physics.noise import Noise
from deepimg.physics.quantize import Quantize
from deepimg.training.build import build
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)


def chain(*overrides: str):
    cfg = config.compose(["physical_layer=sensor", *overrides])
    config.check_config(cfg)
    return build(cfg.physical_layer, in_shape=(1, 28, 28))


def test_default_chain_is_optics_pixels_noise_adc_in_order() -> None:
    sensor = chain(
        "physical_layer.parts.blur.sigma=1.5", "physical_layer.parts.downsample.pixels=7"
    )
    assert list(sensor.parts) == ["blur", "downsample", "noise", "quantize"]
    assert sensor.out_shape == (1, 7, 7)
    sensor.eval()
    x = torch.rand(3, 1, 28, 28)
    by_hand = Quantize((1, 7, 7), bits=8)(
        Noise((1, 7, 7), photons=1000).eval()(
            Downsample((1, 28, 28), pixels=7)(Blur((1, 28, 28), sigma=1.5)(x))
        )
    )
    assert torch.equal(sensor(x), by_hand)


def test_parts_can_be_dropped_and_added() -> None:
    sensor = chain(
        "~physical_layer.parts.blur", "+physical_layer@physical_layer.parts.adc2=quantize"
    )
    assert list(sensor.parts) == ["downsample", "noise", "quantize", "adc2"]


def test_short_keys_reach_the_parts_and_sweep(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the sweep's output folder is reserved here
    args = prepare_train_args(["physical_layer=sensor", "sigma=0,1,2", "photons=10,1000", "-m"])
    assert "physical_layer.parts.blur.sigma=0,1,2" in args
    assert "physical_layer.parts.noise.photons=10,1000" in args


def test_a_part_that_does_not_fit_is_named() -> None:
    with pytest.raises(UserError, match="part 'downsample': pixels=40 is more than the scene"):
        chain("physical_layer.parts.downsample.pixels=40")


def test_learnable_parts_learn_keep_constraints_and_save_their_maps() -> None:
    learn = (
        "physical_layer.parts.blur.learnable=true",
        "physical_layer.parts.quantize.learnable=true",
    )
    sensor = chain(*learn)
    assert set(sensor.maps()) == {"blur_psf", "quantize_gain"}
    assert_gradients_reach_input_and_parameters(sensor, torch.rand(2, 1, 28, 28))
    assert_state_dict_round_trip(lambda: chain(*learn), torch.rand(2, 1, 28, 28))
    psf = sensor.maps()["blur_psf"]
    assert (psf >= 0).all() and psf.sum() == pytest.approx(1, abs=1e-5)
