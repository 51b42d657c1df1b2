"""Starting designs: at step 0 a learned layer is the fixed layer built from the same keys.

For every learnable layer and every value of its ``init`` (and the variants that choose the
classical design: a CFA's pattern and palette, a mask's layout, a pupil's phase), the hard
design of each physical parameter of the learned layer, in evaluation, equals the fixed
layer's, and so do their outputs on the same scenes. Exactly where the design is discrete
(a one-hot CFA, a top-K mask) or held as it is (``Bounded`` with scale 1, ``Unconstrained``);
to float rounding where the latent is a transform of it (``Positive``: a log; ``Bounded`` with a
scale); within the ``Simplex`` floor where a softmax holds it (a PSF, pixel widths, spectral
filters), since a softmax never reaches 0 and its floor keeps every entry movable.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import torch
import yaml

from deepimg.physics.base import PhysicalLayer
from deepimg.physics.blur import Blur
from deepimg.physics.cameras import Cameras
from deepimg.physics.cfa import BAYER, ColorFilterArray, tile_choice
from deepimg.physics.constraints import Bounded, OneHot, Positive, Simplex, TopK, Unconstrained
from deepimg.physics.exposure import Exposure
from deepimg.physics.fluorescence import Fluorescence
from deepimg.physics.functional import START_MARGIN, repeat_tile
from deepimg.physics.illumination import Illumination
from deepimg.physics.mask import Mask, grid_mask, random_mask
from deepimg.physics.pixel_layout import PixelLayout
from deepimg.physics.pupil import Pupil
from deepimg.physics.quantize import Quantize
from deepimg.physics.shift_variant import ShiftVariantBlur
from deepimg.physics.single_photon import SinglePhoton
from deepimg.physics.spectral import Spectral

GRAY, RGB = (1, 12, 12), (3, 12, 12)
CONF = Path(__file__).resolve().parents[2] / "conf" / "physical_layer"

# name -> (class, in_shape, keys besides learnable and init, output tolerance): the output
# tolerance is 0 (exactly equal) unless a design is held within the Simplex floor.
Case = tuple[type[PhysicalLayer], tuple[int, int, int], dict, float]
CASES: dict[str, Case] = {
    "cfa": (ColorFilterArray, RGB, dict(cfa_tile=4), 0.0),
    "cfa_rgbw_pattern": (ColorFilterArray, RGB, dict(pattern="rgbw", cfa_tile=8), 0.0),
    "cfa_random": (ColorFilterArray, RGB, dict(pattern="random", cfa_tile=4, cfa_seed=3), 0.0),
    "cfa_whole_sensor": (ColorFilterArray, (3, 5, 7), dict(cfa_tile=None), 0.0),
    "cfa_rgb": (ColorFilterArray, RGB, dict(palette="rgb", cfa_tile=4), 0.0),
    "cfa_free": (ColorFilterArray, RGB, dict(palette="free", pattern="rgbw", cfa_tile=4), 0.0),
    "cfa_noisy": (ColorFilterArray, RGB, dict(cfa_tile=4, photons=1000.0, read_noise_e=2.0, phase_channels=True), 0.0),
    "mask": (Mask, GRAY, dict(active_pixels=30), 0.0),
    "mask_grid": (Mask, GRAY, dict(active_pixels=30, layout="grid", relaxation="sigmoid"), 0.0),
    "exposure": (Exposure, GRAY, dict(tile=2, exposure_ratio=2.0, saturation="soft"), 0.0),
    "cameras": (Cameras, GRAY, dict(cameras=3, camera_pixels=5), 0.0),
    "cameras_random": (Cameras, GRAY, dict(cameras=2, camera_pixels=5, offsets="random", render=True), 0.0),
    "pixel_layout": (PixelLayout, GRAY, dict(pixels=5, fovea=0.3), 2e-4),
    "pupil": (Pupil, GRAY, dict(psf_size=7), 0.0),
    "pupil_free": (Pupil, GRAY, dict(psf_size=7, pupil_phase="free", pupil_amplitude=True), 0.0),
    "quantize": (Quantize, GRAY, dict(bits=3, learn_step=False), 0.0),
    "single_photon": (SinglePhoton, GRAY, dict(photons=4.0, threshold=2), 0.0),
    "fluorescence": (Fluorescence, RGB, dict(filters=2), 0.0),
    "fluorescence_free": (Fluorescence, RGB, dict(filters=2, filter_shape="free"), 0.0),
    "blur": (Blur, GRAY, dict(sigma=1.0), 5e-4),
    "blur_disk": (Blur, GRAY, dict(psf="disk", radius=1.5), 5e-4),
    "shift_variant": (ShiftVariantBlur, GRAY, dict(psf_grid=2), 2e-4),
    "spectral": (Spectral, RGB, dict(spectral_channels=2), 0.01),  # its floor is 1%
    "illumination": (Illumination, RGB, dict(illumination_patterns=2, led_powers="one_each"), 0.0),
    "illumination_random": (Illumination, RGB, dict(illumination_patterns=2), 0.0),
}  # fmt: skip


def init_values(cls: type[PhysicalLayer]) -> tuple[str, ...]:
    """The values the layer's ``init`` accepts, read off its annotation."""
    return typing.get_args(typing.get_type_hints(cls.__init__)["init"])


PAIRS = [(name, init) for name, case in CASES.items() for init in init_values(case[0])]


def build(name: str, init: str, learnable: bool) -> PhysicalLayer:
    cls, shape, keys, _ = CASES[name]
    return cls(shape, init=init, learnable=learnable, **keys).eval()


def scenes(shape: tuple[int, int, int]) -> torch.Tensor:
    return 0.05 + 0.9 * torch.rand(3, *shape, generator=torch.Generator().manual_seed(1))


def assert_same_design(key: str, learned, fixed, sensor: tuple[int, int]) -> None:
    """The learned parameter's hard design is the fixed one's: over the sensor for a tile."""
    constraint = learned.constraint
    ours, theirs = learned.design().detach(), fixed.design()
    if learned.tiled:
        ours, theirs = repeat_tile(ours, sensor), repeat_tile(theirs, sensor)
    exact = isinstance(constraint, (OneHot, TopK, Unconstrained)) or (
        isinstance(constraint, Bounded) and constraint.scale == 1
    )
    if exact:
        assert torch.equal(ours, theirs), key
    elif isinstance(constraint, Simplex) and bool((theirs > 0).all()):
        assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-8), key  # rounding only
    elif isinstance(constraint, Simplex):
        # to_latent puts floor * peak where the design is 0, before the log: each entry moves
        # by at most that, plus its share of the added total.
        n = theirs.flatten(-constraint.dims).shape[-1]
        peak = theirs.abs().max().item()
        atol = constraint.floor * peak * (1 + n * peak) + 1e-7
        assert torch.allclose(ours, theirs, rtol=0, atol=atol), key
    else:
        assert isinstance(constraint, (Positive, Bounded)), key
        assert torch.allclose(ours, theirs, rtol=1e-6, atol=0), key  # float rounding only


def test_every_learnable_layer_and_init_value_is_covered() -> None:
    """Every physical layer with a learnable design has ``init``, in its YAML too, and every
    value of it is a case here."""
    classes = {case[0] for case in CASES.values()}
    for path in sorted(CONF.glob("*.yaml")):
        config = yaml.safe_load(path.read_text())
        target = config.get("_target_", "")
        module, _, name = target.rpartition(".")
        cls = getattr(__import__(module, fromlist=[name]), name)
        hints = typing.get_type_hints(cls.__init__)
        if "learnable" not in hints:
            continue
        assert "init" in hints and config.get("init") == "classical", path.name
        assert cls in classes, f"{cls.__name__} has no case in CASES"


@pytest.mark.parametrize(("name", "init"), PAIRS)
def test_at_step_zero_the_learned_design_is_the_fixed_one(name: str, init: str) -> None:
    torch.manual_seed(0)
    learned, fixed = build(name, init, True), build(name, init, False)
    assert learned.learnable and not fixed.learnable
    sensor = learned.in_shape[1:]
    parameters = dict(fixed.physical_parameters())
    for key, parameter in learned.physical_parameters():
        if parameter.learnable:
            assert_same_design(key, parameter, parameters[key], sensor)
    x = scenes(learned.in_shape)
    with torch.no_grad():
        ours, theirs = learned(x), fixed(x)
    tolerance = CASES[name][3]
    if tolerance == 0:
        assert torch.allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    else:
        assert torch.allclose(ours, theirs, rtol=0, atol=tolerance)


@pytest.mark.parametrize(
    "name", [n for n, case in CASES.items() if case[0] in (ColorFilterArray, Mask)]
)
def test_discrete_designs_start_exactly_with_the_same_output(name: str) -> None:
    """A one-hot CFA and a top-K mask: not a bit apart, in the design or the output."""
    for init in init_values(CASES[name][0]):
        learned, fixed = build(name, init, True), build(name, init, False)
        x = scenes(learned.in_shape)
        assert torch.equal(learned(x), fixed(x))


def test_a_learned_bayer_cfa_starts_as_bayer_two_logits_ahead() -> None:
    layer = ColorFilterArray(RGB, cfa_tile=4, learnable=True)
    bayer = tile_choice(BAYER)
    assert torch.equal(layer.cfa.design(), bayer.repeat(1, 2, 2))
    assert torch.equal(layer.cfa.latent, START_MARGIN * bayer.repeat(1, 2, 2))
    layer.train()
    soft = layer.cfa.relaxed()  # temperature 1: most, not all, of each pixel's weight
    on_bayer = (soft * layer.cfa.design()).sum(dim=0)
    assert (on_bayer > 0.6).all() and (on_bayer < 0.9).all()


@pytest.mark.parametrize("layout", ["random", "grid"])
def test_a_learned_mask_starts_at_its_layout(layout: str) -> None:
    layer = Mask(GRAY, active_pixels=30, layout=layout, mask_seed=4, learnable=True)
    expected = grid_mask((12, 12), 30) if layout == "grid" else random_mask((12, 12), 30, 4)
    assert torch.equal(layer.eval().mask(), expected)
    assert torch.equal(layer.mask.latent, START_MARGIN * expected)


def test_uniform_init_is_the_old_learned_start() -> None:
    """Nearly equal logits with seeded jitter, as every learned CFA started before ``init``."""
    layer = ColorFilterArray(RGB, cfa_tile=4, cfa_seed=5, init="uniform", learnable=True)
    jitter = 0.01 * torch.randn(4, 4, 4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(layer.cfa.latent, jitter)


def test_a_learned_cfa_tile_must_hold_whole_periods_of_its_pattern() -> None:
    with pytest.raises(ValueError, match=r"pattern=rgbw \(4x4\) needs a cfa_tile that holds whole"):
        ColorFilterArray(RGB, pattern="rgbw", cfa_tile=6, learnable=True)
    ColorFilterArray(RGB, pattern="rgbw", cfa_tile=6, init="uniform", learnable=True)
    ColorFilterArray(RGB, pattern="rgbw", cfa_tile=6)  # a fixed rgbw CFA keeps its 4x4 tile


def test_pixel_layout_uniform_is_equal_widths_whatever_the_fovea() -> None:
    layer = PixelLayout(GRAY, pixels=4, fovea=0.5, init="uniform")
    assert torch.allclose(layer.widths_y(), torch.full((4,), 0.25))
    assert not torch.allclose(PixelLayout(GRAY, pixels=4, fovea=0.5).widths_y(), layer.widths_y())


@pytest.mark.parametrize("phase", ["zernike", "free"])
def test_a_classical_lens_is_focused_and_a_perturbed_one_is_nearly_so(phase: str) -> None:
    focused = Pupil(GRAY, psf_size=7, pupil_phase=phase, learnable=True)
    assert torch.equal(focused.wavefront, torch.zeros_like(focused.wavefront))
    perturbed = Pupil(GRAY, psf_size=7, pupil_phase=phase, init="perturbed", learnable=True)
    rms = perturbed.wavefront[perturbed.aperture > 0].pow(2).mean().sqrt()
    assert 0 < rms < 0.07 and perturbed.strehl_ratio > 0.95


def even_gradient(init: str) -> torch.Tensor:
    """The gradient of a loss that wants a wider PSF on the even Zernike coefficients."""
    layer = Pupil(GRAY, psf_size=7, init=init, learnable=True).train()
    y = layer(scenes(GRAY))
    (-(y - y.mean()).pow(2).sum()).backward()  # contrast down: a blur pays
    even = [0, 1, 2, 5]  # defocus, the astigmatisms, spherical
    return layer.aberrations.latent.grad[even]


def test_even_aberrations_learn_from_a_perturbed_lens_not_from_a_perfect_one() -> None:
    assert torch.allclose(even_gradient("classical"), torch.zeros(4), atol=1e-6)
    assert even_gradient("perturbed").abs().max() > 1e-3
