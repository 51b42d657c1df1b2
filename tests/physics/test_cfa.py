"""Colour filter arrays: the Bayer and RGBW layouts, random and learned CFAs, RGB-only input."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.cfa import FILTERS, ColorFilterArray
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)

# A flat scene whose three channels have distinct values: a pixel's reading names its filter.
RED, GREEN, BLUE = 0.9, 0.5, 0.1


def flat_scene(h: int, w: int) -> torch.Tensor:
    return torch.tensor([RED, GREEN, BLUE]).view(1, 3, 1, 1).expand(2, 3, h, w).clone()


def filter_names(tile: torch.Tensor) -> list[str]:
    """The filter letter of each pixel of an RGB transmittance tile ``(3, h, w)``, raster order."""
    table = torch.tensor(list(FILTERS.values()))
    pixels = tile.flatten(1).T
    match = (pixels[:, None, :] - table[None]).abs().amax(dim=2) < 1e-6
    assert (match.sum(dim=1) == 1).all(), "a pixel's filter is not one of FILTERS"
    return [list(FILTERS)[int(i)] for i in match.float().argmax(dim=1)]


def test_bayer_is_rggb_with_red_at_the_origin() -> None:
    y = ColorFilterArray((3, 6, 8), pattern="bayer")(flat_scene(6, 8))
    assert y.shape == (2, 1, 6, 8)
    expected = torch.tensor([[RED, GREEN], [GREEN, BLUE]]).repeat(3, 4)
    assert torch.allclose(y[0, 0], expected)


def test_bayer_tile_is_half_green_a_quarter_red_a_quarter_blue() -> None:
    names = filter_names(ColorFilterArray((3, 8, 8)).maps()["cfa"])
    assert names == ["R", "G", "G", "B"]
    assert [names.count(c) / 4 for c in "RGB"] == [0.25, 0.5, 0.25]


def test_each_pixel_of_the_mosaic_reads_its_own_colour_channel() -> None:
    x = torch.rand(3, 3, 5, 7)
    y = ColorFilterArray((3, 5, 7))(x)[:, 0]
    assert torch.equal(y[:, 0::2, 0::2], x[:, 0, 0::2, 0::2])  # R
    assert torch.equal(y[:, 0::2, 1::2], x[:, 1, 0::2, 1::2])  # G on red rows
    assert torch.equal(y[:, 1::2, 0::2], x[:, 1, 1::2, 0::2])  # G on blue rows
    assert torch.equal(y[:, 1::2, 1::2], x[:, 2, 1::2, 1::2])  # B


def test_rgbw_is_half_white_on_a_checkerboard_and_white_reads_the_mean() -> None:
    layer = ColorFilterArray((3, 8, 8), pattern="rgbw")
    names = filter_names(layer.maps()["cfa"])
    assert len(names) == 16
    assert [names.count(c) / 16 for c in "RGBW"] == [0.125, 0.25, 0.125, 0.5]
    white = torch.tensor([(i + j) % 2 == 0 for i in range(4) for j in range(4)])
    assert [n == "W" for n in names] == white.tolist()
    y = layer(flat_scene(8, 8))[0, 0]
    assert y[0, 0].item() == pytest.approx((RED + GREEN + BLUE) / 3)
    assert y[0, 1].item() == pytest.approx(RED) and y[3, 2].item() == pytest.approx(BLUE)


def test_a_white_scene_reads_one_through_every_filter() -> None:
    for pattern in ("bayer", "rgbw", "random", "learned"):
        y = ColorFilterArray((3, 9, 9), pattern=pattern).eval()(torch.ones(1, 3, 9, 9))
        assert torch.allclose(y, torch.ones(1, 1, 9, 9))


def test_random_cfa_is_one_colour_per_pixel_about_a_third_each_and_seeded() -> None:
    def tile(seed: int) -> torch.Tensor:
        return ColorFilterArray((3, 60, 60), pattern="random", cfa_tile=None, cfa_seed=seed)

    names = filter_names(tile(1).maps()["cfa"])
    assert len(names) == 3600 and "W" not in names
    assert all(0.3 < names.count(c) / 3600 < 0.37 for c in "RGB")
    assert torch.equal(tile(1).filters(), tile(1).filters())
    assert not torch.equal(tile(1).filters(), tile(2).filters())


def test_the_tile_repeats_across_the_sensor_and_is_cropped_to_it() -> None:
    layer = ColorFilterArray((3, 11, 13), pattern="random", cfa_tile=4)
    x = torch.rand(2, 3, 11, 13)
    y = layer(x)
    assert y.shape == (2, 1, 11, 13) and layer.out_shape == (1, 11, 13)
    assert layer.maps()["cfa"].shape == (3, 4, 4)
    tile = layer.maps()["cfa"]
    assert torch.allclose(y[:, 0, 4:8, 8:12], (x[:, :, 4:8, 8:12] * tile).sum(dim=1))
    small = ColorFilterArray((3, 5, 6), learnable=True, cfa_tile=8)  # the tile is the scene
    assert small.maps()["cfa"].shape == (3, 5, 6)


def test_learned_cfa_in_evaluation_is_one_filter_per_pixel() -> None:
    layer = ColorFilterArray((3, 8, 8), learnable=True, cfa_tile=4).eval()
    x = torch.rand(2, 3, 8, 8)
    for scale in (0.0, 1.0, 10.0):
        with torch.no_grad():
            layer.cfa.latent.add_(scale * torch.randn_like(layer.cfa.latent))
        tile = layer.maps()["cfa"]
        names = filter_names(tile)  # asserts every pixel is exactly one filter
        choice = layer.cfa.latent.argmax(dim=0).flatten().tolist()
        assert names == [list(FILTERS)[i] for i in choice]
        assert torch.allclose(layer(x)[:, 0], (x * tile.repeat(1, 2, 2)).sum(dim=1))


def test_learned_temperature_rises_and_the_soft_cfa_approaches_the_hard_one() -> None:
    torch.manual_seed(0)
    layer = ColorFilterArray((3, 8, 8), learnable=True, cfa_tile=4, cfa_temperature=50.0)
    with torch.no_grad():
        layer.cfa.latent.copy_(
            torch.randn_like(layer.cfa.latent)
        )  # logits spread as after training
    x = torch.rand(2, 3, 8, 8)
    hard = layer.eval()(x)
    layer.train()
    temperatures, distances = [], []
    for progress in (0.0, 0.5, 1.0):
        layer.anneal(progress)
        temperatures.append(layer.cfa.temperature.item())
        distances.append((layer(x) - hard).abs().mean().item())
    assert temperatures == pytest.approx([1.0, 50**0.5, 50.0])
    assert distances[0] > distances[1] > distances[2] and distances[2] < 0.1 * distances[0]
    weights = layer.maps()["cfa_weights"]
    assert weights.shape == (4, 4, 4) and torch.allclose(weights.sum(dim=0), torch.ones(4, 4))


@pytest.mark.parametrize("spread", [0.01, 1.0, 30.0])
def test_fully_annealed_soft_cfa_is_nearly_hard_whatever_the_logits_scale(spread: float) -> None:
    """Training ends on (almost) the CFA it is tested with, even when the logits have barely
    moved from their 0.01 start (an unscaled temperature left the learned mask soft)."""
    torch.manual_seed(2)
    layer = ColorFilterArray((3, 8, 8), learnable=True, cfa_tile=8)
    with torch.no_grad():
        layer.cfa.latent.copy_(spread * torch.randn_like(layer.cfa.latent))
    layer.anneal(1.0)
    soft, hard = layer.cfa.relaxed(), layer.cfa.design()
    assert (soft * hard).sum(dim=0).mean() > 0.95  # weight on the filter the test CFA uses


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_a_scene_that_is_not_rgb_is_refused(channels: int) -> None:
    with pytest.raises(ValueError, match=rf"RGB dataset \(3 channels\), got {channels} channel"):
        ColorFilterArray((channels, 8, 8))


def test_gradients_reach_the_scene_and_the_logits() -> None:
    layer = ColorFilterArray((3, 8, 8), learnable=True, cfa_tile=4)
    assert_gradients_reach_input_and_parameters(layer, torch.rand(2, 3, 8, 8))


@pytest.mark.parametrize("pattern", ["bayer", "rgbw", "random", "learned"])
def test_state_dict_round_trip(pattern: str) -> None:
    make = lambda: ColorFilterArray((3, 8, 8), pattern=pattern, cfa_tile=4)  # noqa: E731
    assert_state_dict_round_trip(make, torch.rand(2, 3, 8, 8), perturb=pattern == "learned")


# A photon budget, a white filter that collects three times the light, other palettes.

PHOTONS = 1000.0


def electrons(layer: ColorFilterArray, y: torch.Tensor) -> torch.Tensor:
    """A mosaic's readings back in electrons: ``photons * g * y`` (``g``: the pixel's share of
    a clear pixel's light)."""
    share = layer.light_of(layer.cfa.design())
    return (
        y[:, 0]
        * PHOTONS
        * share.repeat(1, y.shape[-2] // share.shape[0], y.shape[-1] // share.shape[1])
    )


def test_a_white_pixel_collects_the_electrons_of_an_r_a_g_and_a_b_pixel_together() -> None:
    layer = ColorFilterArray((3, 64, 64), pattern="rgbw", photons=PHOTONS).eval()
    y = layer(flat_scene(64, 64))
    e = electrons(layer, y).mean(dim=0)  # (64, 64), two noisy scenes averaged
    names = filter_names(layer.maps()["cfa"])
    mean = {c: e.view(16, 4, 16, 4)[:, [i // 4], :, [i % 4]].mean().item()
            for c in "RGBW" for i in [names.index(c)]}  # fmt: skip
    third = PHOTONS / 3
    assert mean["R"] == pytest.approx(third * RED, rel=0.03)
    assert mean["B"] == pytest.approx(third * BLUE, rel=0.1)
    assert mean["W"] == pytest.approx(mean["R"] + mean["G"] + mean["B"], rel=0.02)
    # In the mosaic's units (each pixel's own full scale) white reads the mean, as without noise.
    assert y[:, 0, 0::2, 0::2].mean().item() == pytest.approx((RED + GREEN + BLUE) / 3, rel=0.01)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_shot_noise_has_its_mean_as_its_variance_in_photons(mode: str) -> None:
    """Poisson in evaluation, its Gaussian surrogate in training: mean = variance, in
    electrons, for colour pixels (a third of the budget) and white ones (all of it)."""
    torch.manual_seed(0)
    layer = ColorFilterArray((3, 64, 64), pattern="rgbw", photons=PHOTONS)
    getattr(layer, mode)()
    x = torch.full((8, 3, 64, 64), 0.6)
    e = electrons(layer, layer(x))
    white = torch.tensor([[(i + j) % 2 == 0 for j in range(64)] for i in range(64)])
    for pixels, budget in ((e[:, white], PHOTONS), (e[:, ~white], PHOTONS / 3)):
        assert pixels.mean().item() == pytest.approx(0.6 * budget, rel=0.01)
        assert pixels.var().item() == pytest.approx(pixels.mean().item(), rel=0.05)


def test_read_noise_adds_its_variance_in_electrons() -> None:
    layer = ColorFilterArray((3, 64, 64), photons=PHOTONS, read_noise_e=10.0).eval()
    e = electrons(layer, layer(torch.full((8, 3, 64, 64), 0.6)))
    assert e.var().item() == pytest.approx(0.6 * PHOTONS / 3 + 100, rel=0.05)


def test_evaluation_noise_is_the_same_for_the_same_images_and_training_noise_learns() -> None:
    layer = ColorFilterArray((3, 8, 8), photons=PHOTONS, learnable=True, cfa_tile=4)
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(layer.eval()(x), layer(x))  # seeded by the images
    layer.train()
    assert not torch.equal(layer(x), layer(x))  # fresh noise every training batch
    assert_gradients_reach_input_and_parameters(layer, x)


def old_forward(layer: ColorFilterArray, x: torch.Tensor) -> torch.Tensor:
    """The CFA's forward pass before the photon budget existed."""
    table = torch.tensor(list(FILTERS.values()))
    tile = torch.einsum("nc,nhw->chw", table, layer.cfa())
    return (x * tile.repeat(1, 8, 8)[:, : x.shape[-2], : x.shape[-1]]).sum(dim=1, keepdim=True)


@pytest.mark.parametrize("pattern", ["bayer", "rgbw", "random", "learned"])
def test_without_a_photon_budget_the_mosaic_is_what_it_was(pattern: str) -> None:
    torch.manual_seed(3)
    layer = ColorFilterArray((3, 10, 12), pattern=pattern, cfa_tile=4, photons=None)
    x = torch.rand(2, 3, 10, 12)
    for progress in (0.0, 0.5):
        layer.anneal(progress)
        for mode in (layer.train, layer.eval):
            mode()
            assert torch.equal(layer(x), old_forward(layer, x))


def test_the_rgb_palette_never_chooses_white() -> None:
    layer = ColorFilterArray((3, 8, 8), palette="rgb", init="uniform", learnable=True, cfa_tile=8)
    assert layer.cfa.design().shape == (3, 8, 8)
    with torch.no_grad():
        layer.cfa.latent.copy_(torch.randn(3, 8, 8))
    assert "W" not in filter_names(layer.maps()["cfa"])
    with pytest.raises(ValueError, match="pattern=rgbw has W pixels, which palette=rgb does not"):
        ColorFilterArray((3, 8, 8), pattern="rgbw", palette="rgb")


def test_a_free_palette_is_a_transmittance_in_0_1_starting_from_the_pattern() -> None:
    layer = ColorFilterArray((3, 8, 8), pattern="rgbw", palette="free", cfa_tile=4, learnable=True)
    t = layer.maps()["cfa_transmittance"].clone()
    assert t.shape == (3, 4, 4) and torch.equal(t[:, 0, 0], torch.ones(3))  # white
    assert torch.equal(t[:, 0, 1], torch.tensor([1.0, 0.0, 0.0]))  # red
    assert torch.allclose(layer.eval()(torch.ones(1, 3, 8, 8)), torch.ones(1, 1, 8, 8))
    optimizer = torch.optim.SGD(layer.parameters(), lr=100.0)
    layer.train()
    (layer(torch.rand(2, 3, 8, 8)) * torch.randn(2, 1, 8, 8)).sum().backward()
    optimizer.step()
    layer.project()
    design = layer.cfa.design()
    assert ((design >= 0) & (design <= 1)).all() and not torch.equal(design, t)


@pytest.mark.parametrize("palette", ["rgb", "rgbw", "free"])
def test_classical_demosaicking_recovers_a_flat_scene_in_every_palette(palette: str) -> None:
    pattern = "bayer" if palette == "rgb" else "rgbw"
    layer = ColorFilterArray((3, 8, 8), pattern=pattern, palette=palette).eval()
    grey = torch.full((1, 3, 8, 8), 0.4)
    assert torch.allclose(layer.to_scene(layer(grey)), grey, atol=1e-6)


def test_phase_channels_carry_each_pixels_filter_and_leave_the_mosaic_alone() -> None:
    x = torch.rand(2, 3, 8, 8)
    plain = ColorFilterArray((3, 8, 8), pattern="rgbw")
    phased = ColorFilterArray((3, 8, 8), pattern="rgbw", phase_channels=True)
    y = phased(x)
    assert phased.out_shape == (4, 8, 8) and y.shape == (2, 4, 8, 8)
    assert torch.equal(y[:, :1], plain(x))
    assert torch.equal(y[0, 1:], plain.maps()["cfa"].repeat(1, 2, 2))
    assert torch.equal(y[0, 1:], y[1, 1:])
    assert torch.equal(phased.to_scene(y), plain.to_scene(plain(x)))
