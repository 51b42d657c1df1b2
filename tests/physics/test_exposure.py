"""Spatially varying exposure: saturation statistics, tiling, ADC levels, gradients through the clip."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.exposure import Exposure, soft_clip
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)

SHAPE = (1, 32, 32)


def test_default_pattern_is_the_geometric_ladder() -> None:
    layer = Exposure(SHAPE, tile=2, exposure_ratio=4.0)
    assert layer.exposure().tolist() == [[1.0, 4.0], [16.0, 64.0]]
    assert layer.maps()["exposure"].shape == (2, 2)


@pytest.mark.parametrize("exposures", [[1, 4, 16, 64], [1.0, 2.5, 1.5, 8.0]])
def test_saturated_fraction_of_a_uniform_scene_is_one_minus_one_over_t(exposures) -> None:
    # x ~ U(0, 1): y = 1 where t x >= 1 - half a step, a share 1 - (1 - 0.5 / (2^bits - 1)) / t.
    bits = 12
    layer = Exposure(SHAPE, tile=2, exposures=exposures, bits=bits)
    torch.manual_seed(0)
    y = layer(torch.rand(64, *SHAPE))
    n = 64 * 16 * 16  # samples per tile position
    for i in range(2):
        for j in range(2):
            t = float(exposures[2 * i + j])
            saturated = (y[..., i::2, j::2] == 1).float().mean().item()
            expected = 1 - (1 - 0.5 / (2**bits - 1)) / t
            sigma = (max(expected * (1 - expected), 1e-6) / n) ** 0.5
            assert saturated == pytest.approx(expected, abs=4 * sigma + 1e-4), (i, j)


@pytest.mark.parametrize("bits", [1, 3, 6])
def test_at_most_2_to_the_bits_levels_in_0_1(bits: int) -> None:
    layer = Exposure(SHAPE, tile=2, bits=bits)
    y = layer(torch.rand(8, *SHAPE) * 1.2 - 0.1)
    assert len(y.unique()) <= 2**bits and y.min() >= 0 and y.max() <= 1


def test_pattern_repeats_every_tile_pixels_even_when_the_tile_does_not_divide() -> None:
    layer = Exposure((2, 11, 10), tile=3, exposure_ratio=1.5)
    t = layer.exposure_map()
    assert t.shape == (11, 10)
    rows, cols = torch.meshgrid(torch.arange(11), torch.arange(10), indexing="ij")
    assert torch.equal(t, layer.exposure()[rows % 3, cols % 3])
    y = layer(torch.full((1, 2, 11, 10), 0.05))  # a flat scene shows the pattern itself
    assert torch.equal(y[..., 3:, :], y[..., :-3, :]) and torch.equal(y[..., 3:], y[..., :-3])
    assert torch.equal(y[:, 0], y[:, 1])  # every channel gets the same exposures
    assert len(y.unique()) == 9


def test_fixed_exposures_are_a_buffer() -> None:
    layer = Exposure(SHAPE)
    assert list(layer.parameters()) == [] and set(layer.state_dict()) == {"exposure.value"}


def test_gradients_reach_the_scene_and_the_exposures() -> None:
    layer = Exposure(SHAPE, tile=2, learnable=True)
    assert_gradients_reach_input_and_parameters(layer, torch.rand(4, *SHAPE))


def test_saturated_pixels_still_learn_their_exposure_through_the_clip() -> None:
    layer = Exposure(SHAPE, tile=2, exposures=[2, 4, 8, 16], learnable=True).train()
    x = torch.full((2, *SHAPE), 0.9, requires_grad=True)  # every pixel saturated
    y = layer(x)
    assert (y == 1).all()
    y.sum().backward()
    t = layer.exposure().detach()
    # Straight through: dy/dlog t = t x per pixel, dy/dx = t.
    per_position = 2 * (32 // 2) ** 2 * 0.9 * t
    assert torch.allclose(layer.exposure.latent.grad, per_position, rtol=1e-5)
    assert torch.allclose(x.grad, layer.exposure_map().detach().expand_as(x))


def test_state_dict_round_trip_and_projection() -> None:
    def make() -> Exposure:
        return Exposure(SHAPE, tile=2, learnable=True)

    x = torch.rand(4, *SHAPE)
    assert_state_dict_round_trip(make, x)
    layer = make()
    with torch.no_grad():
        layer.exposure.latent.copy_(torch.tensor([[-50.0, 0.0], [3.0, 50.0]]))
    layer.project()
    assert layer.exposure()[0, 0].item() == pytest.approx(1e-3)
    assert layer.exposure()[1, 1].item() == pytest.approx(1e6, rel=1e-5)
    assert layer.exposure()[1, 0].item() == pytest.approx(torch.tensor(3.0).exp().item())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tile": 2, "exposures": [1, 4, 16]}, "exposures has 3 values; tile=2 needs"),
        ({"tile": 3, "exposures": [1, 4, 16, 64]}, "tile=3 needs tile\\*tile = 9"),
        (
            {"tile": 2, "exposures": [1, 4, 0, 64]},
            r"exposures=\[1, 4, 0, 64\] is not accepted; expected .*each a number in 0.001..1e",
        ),
        ({"tile": 4, "exposure_ratio": 100.0}, "lower exposure_ratio or tile"),
        ({"tile": 17}, "tile=17 is not accepted; expected an integer in 1..16"),
    ],
)
def test_bad_tile_or_exposure_list_is_refused_clearly(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Exposure(SHAPE, **kwargs)


def test_a_tile_larger_than_the_image_is_refused() -> None:
    with pytest.raises(ValueError, match="tile=5 is larger than the 4x6 image; use tile <= 4"):
        Exposure((1, 4, 6), tile=5, exposure_ratio=1.5)


def saturated_gradients(saturation: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Output, scene gradient and exposure gradient when every pixel is over full scale
    (``t x`` from 1.8 to 14.4)."""
    layer = Exposure(SHAPE, tile=2, exposures=[2, 4, 8, 16], saturation=saturation,
                     saturation_width=0.5, learnable=True).train()  # fmt: skip
    x = torch.full((2, *SHAPE), 0.9, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    return y.detach(), x.grad, layer.exposure.latent.grad


def test_a_soft_clip_passes_a_gradient_from_saturated_pixels_and_stays_at_full_scale() -> None:
    y, scene, exposure = saturated_gradients("soft")
    assert (y == 1).all()  # the hard clip forward: never above full scale
    assert (scene > 0).all() and (exposure > 0).all()
    # Falls with how far above full scale: the longest exposure learns least.
    assert exposure.flatten().tolist() == sorted(exposure.flatten().tolist(), reverse=True)
    _, _, straight = saturated_gradients("straight_through")
    assert (exposure < straight).all()  # saturation costs signal, unlike straight through
    _, hard_scene, hard = saturated_gradients("hard")
    assert (hard == 0).all() and (hard_scene == 0).all()


def test_below_full_scale_every_saturation_gives_the_same_values() -> None:
    x = torch.rand(2, *SHAPE) / 20  # t x <= 0.8: nothing saturates
    outputs = [Exposure(SHAPE, saturation=s)(x) for s in ("straight_through", "hard", "soft")]
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])
    bright = torch.rand(2, *SHAPE) * 5
    soft = Exposure(SHAPE, saturation="soft", saturation_width=1.0).train()(bright)
    assert soft.max() <= 1 and torch.equal(soft, Exposure(SHAPE)(bright))


def test_the_soft_clip_is_smooth_monotone_and_below_full_scale() -> None:
    v = torch.linspace(0, 3, 301, dtype=torch.float64)
    s = soft_clip(v, 0.1)
    assert s[0] == 0 and (s < 1).all() and (s.diff() > 0).all()
    assert torch.allclose(s[v <= 0.2], v[v <= 0.2], atol=5e-5) and s[-1] > 1 - 1e-9
    assert (soft_clip(torch.linspace(0, 1e3, 101), 0.1) <= 1).all()
