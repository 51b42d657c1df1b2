"""The contract, for every physical layer, fixed and learnable: shapes, gradients, constraints
after a large optimizer step, the state-dict round trip, deterministic evaluation, and a
learned design re-used by the same layer built fixed."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
import torch

from deepimg.physics.base import PhysicalLayer
from deepimg.physics.blur import Blur
from deepimg.physics.cameras import Cameras
from deepimg.physics.cfa import ColorFilterArray
from deepimg.physics.downsample import Downsample
from deepimg.physics.exposure import Exposure
from deepimg.physics.fluorescence import Fluorescence
from deepimg.physics.identity import Identity
from deepimg.physics.illumination import Illumination
from deepimg.physics.mask import Mask
from deepimg.physics.noise import Noise
from deepimg.physics.pixel_layout import PixelLayout
from deepimg.physics.pupil import Pupil
from deepimg.physics.quantize import Quantize
from deepimg.physics.sensor import Sensor
from deepimg.physics.shift_variant import ShiftVariantBlur
from deepimg.physics.single_photon import SinglePhoton
from deepimg.physics.spectral import Spectral

GRAY, RGB = (1, 12, 12), (3, 12, 12)
# Even aberrations have no gradient at a perfect lens: start every coefficient off zero.
ABERRATED = dict(defocus=0.2, astigmatism=0.1, astigmatism_oblique=-0.1, coma=0.1,
                 coma_vertical=-0.1, spherical=0.05, psf_size=7)  # fmt: skip


def chain(learnable: bool) -> dict:
    """The sensor's parts as factories ``f(in_shape)``, as ``training.build`` makes them."""
    return {
        "blur": partial(Blur, sigma=1.0, learnable=learnable),
        "downsample": partial(Downsample, pixels=6),
        "noise": partial(Noise, photons=100.0),
        "quantize": partial(Quantize, bits=4, learnable=learnable, learn_step=learnable),
    }


# name -> (in_shape, build(learnable)); None: the layer has no learnable design.
LAYERS: dict[str, tuple[tuple[int, int, int], Callable[[bool], PhysicalLayer] | None]] = {
    "identity": (GRAY, None),
    "downsample": (GRAY, None),
    "noise": (GRAY, None),
    "pixel_layout": (GRAY, lambda s, ln: PixelLayout(s, pixels=5, fovea=0.3, learnable=ln)),
    "cameras": (GRAY, lambda s, ln: Cameras(s, cameras=3, camera_pixels=5, offsets="random", learnable=ln)),
    "cameras_rendered": (GRAY, lambda s, ln: Cameras(s, cameras=2, camera_pixels=5, camera_sigma=[0.5, 1.0], render=True, learnable=ln)),
    "quantize": (GRAY, lambda s, ln: Quantize(s, bits=3, learnable=ln, learn_step=ln)),
    "blur": (GRAY, lambda s, ln: Blur(s, sigma=1.0, learnable=ln)),
    "pupil": (GRAY, lambda s, ln: Pupil(s, learnable=ln, **ABERRATED)),
    "pupil_free": (GRAY, lambda s, ln: Pupil(s, pupil_phase="free", pupil_amplitude=True, learnable=ln, **ABERRATED)),
    "shift_variant": (GRAY, lambda s, ln: ShiftVariantBlur(s, psf_grid=2, learnable=ln)),
    "exposure": (GRAY, lambda s, ln: Exposure(s, tile=2, exposure_ratio=2.0, learnable=ln)),
    "single_photon": (GRAY, lambda s, ln: SinglePhoton(s, photons=4.0, threshold=2, learnable=ln)),
    # init=uniform: nearly equal scores (logits), so that `moved` changes the hard design (their
    # jitter seeded apart from its noise); the classical start, 2 apart, is in test_init.py.
    "mask": (GRAY, lambda s, ln: Mask(s, active_pixels=30, init="uniform", mask_seed=1, learnable=ln)),
    "mask_sigmoid": (GRAY, lambda s, ln: Mask(s, active_pixels=30, relaxation="sigmoid", init="uniform", mask_seed=1, learnable=ln)),
    "cfa": (RGB, lambda s, ln: ColorFilterArray(s, cfa_tile=4, init="uniform", cfa_seed=1, learnable=ln)),
    "spectral": (RGB, lambda s, ln: Spectral(s, spectral_channels=2, learnable=ln)),
    "illumination": (RGB, lambda s, ln: Illumination(s, illumination_patterns=2, learnable=ln)),
    "fluorescence": (RGB, lambda s, ln: Fluorescence(s, filters=2, learnable=ln)),
    "fluorescence_free": (RGB, lambda s, ln: Fluorescence(s, filters=2, filter_shape="free", learnable=ln)),
    "sensor": (GRAY, lambda s, ln: Sensor(s, parts=chain(ln))),
}  # fmt: skip
FIXED_ONLY = {
    "identity": lambda s: Identity(s),
    "downsample": lambda s: Downsample(s, pixels=6),
    "noise": lambda s: Noise(s, photons=100.0, read_noise_e=2.0),
}
CASES = [(n, False) for n in LAYERS] + [(n, True) for n, (_, b) in LAYERS.items() if b]


def build(name: str, learnable: bool) -> PhysicalLayer:
    torch.manual_seed(0)
    shape, make = LAYERS[name]
    return make(shape, learnable) if make else FIXED_ONLY[name](shape)


def scenes(name: str, batch: int = 3) -> torch.Tensor:
    return 0.05 + 0.9 * torch.rand(
        batch, *LAYERS[name][0], generator=torch.Generator().manual_seed(1)
    )


def moved(layer: PhysicalLayer) -> PhysicalLayer:
    """The layer with its learnable design moved away from where it started (as by training)."""
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    layer.project()
    return layer


@pytest.mark.parametrize(("name", "learnable"), CASES)
def test_shapes_in_training_and_evaluation(name: str, learnable: bool) -> None:
    layer, x = build(name, learnable), scenes(name)
    for mode in (layer.train, layer.eval):
        mode()
        y = layer(x)
        assert y.shape == (3, *layer.out_shape) and torch.isfinite(y).all()
        assert layer.to_scene(y).shape == x.shape
    assert layer.learnable == learnable


@pytest.mark.parametrize(("name", "learnable"), CASES)
def test_gradients_reach_the_scene_and_every_learnable_parameter(
    name: str, learnable: bool
) -> None:
    layer, x = build(name, learnable).train(), scenes(name).requires_grad_(True)
    (layer(x) * torch.randn(3, *layer.out_shape)).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    learned = [p for _, p in layer.physical_parameters() if p.learnable]
    assert len(learned) == (len(list(layer.physical_parameters())) if learnable else 0)
    assert list(layer.parameters()) == [p.latent for p in learned]  # nothing else trains
    for parameter in learned:
        grad = parameter.latent.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.mark.parametrize("name", [n for n, learnable in CASES if learnable])
def test_constraints_hold_after_a_large_optimizer_step(name: str) -> None:
    layer = build(name, True).train()
    optimizer = torch.optim.Adam(layer.parameters(), lr=10.0)  # every latent moves by ~10
    for progress in (0.0, 0.5, 1.0):
        layer.anneal(progress)
        optimizer.zero_grad()
        (layer(scenes(name)) * torch.randn(3, *layer.out_shape)).sum().backward()
        optimizer.step()
        layer.project()
        for key, parameter in layer.physical_parameters():
            value = parameter.design()
            assert torch.isfinite(value).all(), key
            assert parameter.constraint.holds(value), f"{key} breaks its {parameter.constraint}"


@pytest.mark.parametrize(("name", "learnable"), CASES)
def test_state_dict_round_trip_and_deterministic_evaluation(name: str, learnable: bool) -> None:
    first, x = moved(build(name, learnable)), scenes(name)
    second = build(name, learnable)
    second.load_state_dict(first.state_dict())
    first.eval()
    second.eval()
    assert torch.equal(first(x), second(x)) and torch.equal(first(x), first(x))
    for key, parameter in first.physical_parameters():
        assert torch.equal(first.state_dict()[f"{key}.value"], parameter.design())


@pytest.mark.parametrize("name", [n for n, learnable in CASES if learnable])
def test_the_same_layer_built_fixed_uses_a_learned_design(name: str) -> None:
    """``deepimg eval ... learnable=false`` on a learned checkpoint: the learned design, frozen."""
    learned, x = moved(build(name, True)), scenes(name)
    fixed = build(name, False)
    with torch.no_grad():  # as evaluation runs (with gradients, matmul may sum in another order)
        before = fixed.eval()(x)
        own = fixed.state_dict()
        fixed.load_state_dict({k: v for k, v in learned.state_dict().items() if k in own})
        assert torch.equal(fixed(x), learned.eval()(x)) and not torch.equal(fixed(x), before)
    assert list(fixed.parameters()) == []


@pytest.mark.parametrize("name", ["mask_sigmoid", "cfa"])
def test_annealing_temperatures_are_saved(name: str) -> None:
    """A resumed run continues its schedule: the temperature is a buffer in the state dict."""
    layer = build(name, True)
    layer.anneal(0.5)
    copy = build(name, True)
    copy.load_state_dict(layer.state_dict())
    ((key, parameter),) = copy.physical_parameters()
    assert parameter.temperature.item() == pytest.approx(100**0.5)
    assert copy.state_dict()[f"{key}.temperature"].item() == pytest.approx(10.0)


def test_a_learnable_layer_starts_from_a_fixed_checkpoints_design() -> None:
    fixed = Blur(GRAY, psf="disk", radius=1.5)
    learned = Blur(GRAY, psf="gaussian", sigma=1.0, psf_size=fixed.psf().shape[-1], learnable=True)
    learned.load_state_dict(fixed.state_dict())  # only psf.value: the latent comes from it
    assert torch.allclose(learned.psf(), fixed.psf(), atol=1e-4)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Quantize(GRAY, bits=17), "bits=17 is not accepted; expected an integer in 1..16"),
        (lambda: Quantize(GRAY, bits=True), "bits=True is not accepted"),
        (lambda: Blur(GRAY, sigma=-1.0), r"sigma=-1.0 is not accepted; expected a number in 0..20"),
        (
            lambda: Blur(GRAY, psf="box"),
            "psf='box' is not accepted; expected one of gaussian, disk",
        ),
        (
            lambda: SinglePhoton(GRAY, threshold=1.5),
            "threshold=1.5 is not accepted; expected an integer",
        ),
        (
            lambda: Noise(GRAY, photons=0.0),
            r"photons=0.0 is not accepted; expected a number in 0.001",
        ),
    ],
)
def test_constructor_values_are_checked_from_the_annotations(make, message: str) -> None:
    """The same words as on the command line (``config.check_config``), from Python too."""
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("make", "old", "new"),
    [
        (lambda: Mask(GRAY, active_pixels=30, layout="learned"), "layout=learned", lambda: Mask(GRAY, active_pixels=30, learnable=True)),
        (lambda: ColorFilterArray(RGB, pattern="learned"), "pattern=learned", lambda: ColorFilterArray(RGB, learnable=True)),
    ],
)  # fmt: skip
def test_old_spellings_still_learn_and_say_so_once(make, old: str, new, caplog) -> None:
    with caplog.at_level("WARNING"):
        layer = make()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith(f"{old} is deprecated: write learnable=true")
    assert layer.learnable and layer.state_dict().keys() == new().state_dict().keys()
    x = torch.rand(2, *layer.in_shape)
    assert torch.equal(layer.eval()(x), new().eval()(x))


def test_a_fixed_cfa_takes_the_tile_size_of_the_learned_design_it_loads() -> None:
    learned, fixed = ColorFilterArray(RGB, cfa_tile=4, learnable=True), ColorFilterArray(RGB)
    usable = {k: v for k, v in learned.state_dict().items() if fixed.fits(k, v)}
    assert set(usable) == {"cfa.value"}  # the 4x4 design fits the 2x2 Bayer layer; no latent
    fixed.load_state_dict(usable)
    x = torch.rand(2, *RGB)
    assert torch.equal(fixed.eval()(x), learned.eval()(x))
    assert not Mask(GRAY, active_pixels=30).fits("mask.value", torch.ones(6, 6))
