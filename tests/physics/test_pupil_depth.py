"""The pupil's depth-dependent PSF: a point at depth z sees the wavefront plus
defocus_per_depth (z - focus_depth) waves RMS of defocus, and ``layered`` images a scene with
a depth map plane by plane (the layered model, without occlusion)."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.identity import Identity
from deepimg.physics.pupil import Pupil

SHAPE = (1, 16, 16)
FOCUS = 2.0


def rms_radius(h: torch.Tensor) -> torch.Tensor:
    """Second-moment radius (pixels) of each PSF ``(..., k, k)`` about its kernel's centre."""
    r = torch.arange(h.shape[-1], dtype=torch.float64) - (h.shape[-1] - 1) / 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    return (h.double() * (x**2 + y**2)).sum(dim=(-2, -1)).sqrt()


def test_at_the_focal_plane_the_psf_is_the_lens_own() -> None:
    layer = Pupil(SHAPE, coma=0.1, astigmatism=0.05, psf_size=11, focus_depth=FOCUS)
    assert torch.allclose(layer.psf_at(torch.tensor([FOCUS]))[0], layer.psf, atol=1e-7)
    # Off focus it is another PSF: the depth term is really there.
    assert not torch.allclose(layer.psf_at(torch.tensor([FOCUS + 0.1]))[0], layer.psf, atol=1e-3)


def test_the_blur_grows_with_distance_from_focus_on_both_sides() -> None:
    # 0.15 waves per depth unit keeps the blur at 1.5 units (geometric radius ~5 px at
    # airy_radius 2) inside the 15 x 15 kernel, so the radius is not capped by the crop.
    layer = Pupil(SHAPE, psf_size=15, defocus_per_depth=0.15, focus_depth=FOCUS)
    offsets = torch.tensor([0.0, 0.5, 1.0, 1.5], dtype=torch.float64)
    for side in (1.0, -1.0):
        radius = rms_radius(layer.psf_at(FOCUS + side * offsets)).tolist()
        assert all(a < b - 0.1 for a, b in zip(radius, radius[1:], strict=False)), radius
    # A focused lens: defocus blurs the same either side of the focal plane.
    nearer, farther = layer.psf_at(torch.tensor([FOCUS - 1.0, FOCUS + 1.0]))
    assert torch.allclose(nearer, farther, atol=1e-6)


def test_each_psf_of_the_stack_sums_to_one() -> None:
    layer = Pupil(SHAPE, coma=0.2, psf_size=9, focus_depth=FOCUS)
    stack = layer.psf_at(torch.linspace(-1.0, 4.0, 6))
    assert stack.shape == (6, 9, 9) and (stack >= 0).all()
    assert torch.allclose(stack.sum(dim=(1, 2)), torch.ones(6), atol=1e-6)


@pytest.mark.parametrize("z", [FOCUS - 0.6, FOCUS + 0.25])
def test_a_scene_on_one_plane_is_blurred_as_a_lens_with_that_defocus(z: float) -> None:
    per_depth = 0.8
    layer = Pupil(SHAPE, psf_size=11, defocus_per_depth=per_depth, focus_depth=FOCUS)
    lens = Pupil(SHAPE, psf_size=11, defocus=per_depth * (z - FOCUS))
    x = torch.rand(1, *SHAPE, generator=torch.Generator().manual_seed(0))
    depth = torch.full((1, 1, 16, 16), z)
    planes = torch.tensor([FOCUS - 3.0, z, FOCUS + 3.0])  # the others hold no pixel
    y = layer.layered(x, depth, planes)
    assert torch.allclose(y, lens(x), atol=1e-5)
    assert (y - x).abs().max() > 1e-2  # and the blur is not nothing


def two_plane_scene() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random scene, its left half near plane 0.0 and its right half near plane 1.0."""
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(1, 2, 16, 16, generator=generator)
    depth = torch.empty(1, 1, 16, 16)
    depth[..., :8] = 0.3 * torch.rand(1, 1, 16, 8, generator=generator)  # nearest 0.0
    depth[..., 8:] = 0.7 + 0.6 * torch.rand(1, 1, 16, 8, generator=generator)  # nearest 1.0
    return x, depth, torch.tensor([0.0, 1.0])


def test_two_planes_add_each_planes_own_blur_of_its_nearest_pixels() -> None:
    layer = Pupil((2, 16, 16), psf_size=9, defocus_per_depth=0.3, focus_depth=0.0)
    x, depth, planes = two_plane_scene()
    left = torch.zeros_like(x)
    left[..., :8] = x[..., :8]
    right = x - left
    h = layer.psf_at(planes)
    expected = Pupil((2, 16, 16), psf_size=9)(left) + (
        Pupil((2, 16, 16), psf_size=9, defocus=0.3)(right)
    )
    y = layer.layered(x, depth, planes)
    assert torch.allclose(y, expected, atol=1e-5)
    assert torch.allclose(layer(left), Pupil((2, 16, 16), psf_size=9)(left), atol=1e-6)
    # Linear in the scene: the images of its parts add up.
    assert torch.allclose(
        y, layer.layered(left, depth, planes) + layer.layered(right, depth, planes), atol=1e-6
    )
    # The right half is really blurred by the defocused PSF, not the focused one.
    focused = layer(x)
    assert (y - focused)[..., 10:].abs().max() > 1e-2
    assert not torch.allclose(h[0], h[1], atol=1e-3)


def test_a_pixel_goes_to_its_nearest_plane_wherever_the_planes_lie() -> None:
    layer = Pupil(SHAPE, psf_size=7, defocus_per_depth=0.5)
    x = torch.zeros(1, *SHAPE)
    x[0, 0, 8, 8] = 1  # a star at depth 2.4: nearest to the plane at 2.0 of (5.0, 2.0, 0.0)
    depth = torch.full((1, 1, 16, 16), 2.4)
    planes = torch.tensor([5.0, 2.0, 0.0])
    y = layer.layered(x, depth, planes)
    h = layer.psf_at(planes)
    assert torch.allclose(y[0, 0, 5:12, 5:12], h[1], atol=1e-6)
    for other in (0, 2):
        assert not torch.allclose(y[0, 0, 5:12, 5:12], h[other], atol=1e-3)


def test_a_loss_on_the_layered_image_reaches_a_learnable_free_phase() -> None:
    layer = Pupil(SHAPE, psf_size=9, pupil_phase="free", learnable=True, init="perturbed")
    x, depth, planes = two_plane_scene()
    y = layer.layered(x[:, :1], depth, planes)
    (y * torch.rand_like(y)).sum().backward()
    grad = layer.phase.latent.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert grad[layer.aperture > 0].abs().max() > 1e-6
    assert torch.all(grad[layer.aperture == 0] == 0)  # outside the pupil the phase is nothing


def test_a_layer_without_a_depth_dependent_psf_refuses_layered() -> None:
    x, depth, planes = two_plane_scene()
    with pytest.raises(ValueError, match="physical_layer=pupil") as err:
        Identity((2, 16, 16)).layered(x, depth, planes)
    assert "Identity" in str(err.value) and "\n" not in str(err.value)


def test_a_depth_map_that_does_not_fit_the_scene_is_refused() -> None:
    layer = Pupil((2, 16, 16), psf_size=5)
    x, depth, planes = two_plane_scene()
    with pytest.raises(ValueError, match=r"depth map \(B, 1, H, W\)"):
        layer.layered(x, depth[..., :8], planes)
    with pytest.raises(ValueError, match="1-D"):
        layer.layered(x, depth, planes.view(1, 2))
