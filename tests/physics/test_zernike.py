"""Zernike polynomials and the pupil's diffraction PSF: the basis is orthonormal, a perfect
lens gives the Airy pattern, each named aberration distorts the PSF the way its name says."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepimg.physics import zernike
from deepimg.physics.pupil import ABERRATIONS, Pupil
from tests.physics.contract import (
    assert_gradients_reach_input_and_parameters,
    assert_state_dict_round_trip,
)

SHAPE = (1, 24, 24)


def centred_grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    return torch.meshgrid(r, r, indexing="ij")


def moments(h: torch.Tensor) -> dict[str, float]:
    """Centroid and second moments (pixels, pixels^2) of a PSF about its kernel's centre."""
    y, x = centred_grid(h.shape[-1])
    h = h.double()
    return {
        "x": (h * x).sum().item(),
        "y": (h * y).sum().item(),
        "xx": (h * x * x).sum().item(),
        "yy": (h * y * y).sum().item(),
        "xy": (h * x * y).sum().item(),
    }


def test_noll_indices_follow_nolls_table() -> None:
    # Noll (1976), Table 1: j -> (n, m), sin terms written with m < 0.
    table = {1: (0, 0), 2: (1, 1), 3: (1, -1), 4: (2, 0), 5: (2, -2), 6: (2, 2), 7: (3, -1),
             8: (3, 1), 9: (3, -3), 10: (3, 3), 11: (4, 0), 12: (4, 2), 13: (4, -2)}  # fmt: skip
    assert {j: zernike.noll_to_nm(j) for j in table} == table
    assert [zernike.noll_to_nm(j) for j in ABERRATIONS.values()] == [
        (2, 0), (2, 2), (2, -2), (3, 1), (3, -1), (4, 0)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="starts at 1"):
        zernike.noll_to_nm(0)


def test_polynomials_match_their_closed_forms() -> None:
    rho = torch.rand(50, dtype=torch.float64)
    theta = 2 * math.pi * torch.rand(50, dtype=torch.float64)
    expected = {
        4: math.sqrt(3) * (2 * rho**2 - 1),
        6: math.sqrt(6) * rho**2 * torch.cos(2 * theta),
        7: math.sqrt(8) * (3 * rho**3 - 2 * rho) * torch.sin(theta),
        11: math.sqrt(5) * (6 * rho**4 - 6 * rho**2 + 1),
    }
    for j, z in expected.items():
        assert torch.allclose(zernike.noll(j, rho, theta), z, atol=1e-12)
    with pytest.raises(ValueError, match="does not exist"):
        zernike.radial(3, 2, rho)


def test_polynomials_are_orthonormal_over_the_unit_disk() -> None:
    # (1/pi) * integral over the disk = (1/2pi) * integral over t = rho^2 in [0, 1] and theta:
    # Gauss-Legendre in t and a uniform rule in theta integrate these products exactly.
    nodes, weights = np.polynomial.legendre.leggauss(20)
    t = torch.tensor((nodes + 1) / 2)
    theta = torch.arange(64, dtype=torch.float64) * 2 * math.pi / 64
    t, theta = torch.meshgrid(t, theta, indexing="ij")
    w = torch.tensor(weights / 2)[:, None].expand_as(t) / 64  # weights sum to 1
    basis = torch.stack([zernike.noll(j, t.sqrt(), theta) for j in range(1, 22)])  # n <= 5
    gram = torch.einsum("ihw,jhw,hw->ij", basis, basis, w)
    assert torch.allclose(gram, torch.eye(21, dtype=torch.float64), atol=1e-12)


def test_a_perfect_lens_gives_the_airy_pattern() -> None:
    layer = Pupil(SHAPE, airy_radius=4.0, psf_size=31, psf_oversample=1)  # pixel centres
    h = layer.psf.double()
    assert (h >= 0).all() and h.sum().item() == pytest.approx(1, abs=1e-6)
    assert torch.allclose(h, h.flip(0), atol=1e-9) and torch.allclose(h, h.flip(1), atol=1e-9)
    assert torch.allclose(h, h.T, atol=1e-9)
    y, x = centred_grid(31)
    v = 3.8317059702075125 * torch.hypot(x, y) / 4.0  # J1's first zero at airy_radius
    airy = torch.where(v > 0, 2 * torch.special.bessel_j1(v) / v.clamp_min(1e-12), 1) ** 2
    assert torch.allclose(h / h.max(), airy, atol=3e-3)
    assert h[15, 15 + 4] < 1e-4 * h.max() < h[15, 15 + 2]  # dark ring at 4 pixels


@pytest.mark.parametrize("samples", [16, 32, 64])
def test_pupil_samples_refine_the_psf_without_rescaling_it(samples: int) -> None:
    # airy_radius alone sets the PSF's scale; the pupil grid only sets how finely the
    # circle is drawn (its jagged edge costs about 1% of the peak at 24 samples).
    fine = Pupil(SHAPE, airy_radius=3.0, psf_size=21, pupil_samples=256).psf
    coarse = Pupil(SHAPE, airy_radius=3.0, psf_size=21, pupil_samples=samples).psf
    assert torch.allclose(coarse, fine, atol=1.5e-2 * fine.max().item())


def test_defocus_widens_the_psf_the_same_either_side_of_focus() -> None:
    width = [moments(Pupil(SHAPE, defocus=a, psf_size=31).psf)["xx"] for a in (0.0, 0.1, 0.2, 0.3)]
    assert all(a < b for a, b in zip(width, width[1:], strict=False))
    plus, minus = Pupil(SHAPE, defocus=0.2, psf_size=31), Pupil(SHAPE, defocus=-0.2, psf_size=31)
    assert torch.allclose(plus.psf, minus.psf, atol=1e-7)


@pytest.mark.parametrize("defocus", [0.05, 0.1, 0.2])
def test_strehl_ratio_of_defocus_is_sinc_squared(defocus: float) -> None:
    # Mean of exp(i 2 pi a sqrt(3) (2 rho^2 - 1)) over the disk, rho^2 uniform: sin(psi) / psi.
    psi = 2 * math.sqrt(3) * math.pi * defocus
    layer = Pupil(SHAPE, defocus=defocus, pupil_samples=256)
    assert layer.strehl_ratio.item() == pytest.approx((math.sin(psi) / psi) ** 2, rel=2e-3)
    assert layer.intensity().max() / Pupil(SHAPE, pupil_samples=256).intensity().max() == (
        pytest.approx(layer.strehl_ratio.item(), rel=1e-4)
    )  # the on-axis pixel is the peak


def test_each_aberration_distorts_the_psf_along_its_axes() -> None:
    m = {name: moments(Pupil(SHAPE, psf_size=31, **{name: 0.2}).psf) for name in ABERRATIONS}
    assert abs(m["coma"]["x"]) > 0.5 > abs(m["coma"]["y"]) + 1e-6  # the tail is along x
    assert abs(m["coma_vertical"]["y"]) > 0.5 > abs(m["coma_vertical"]["x"]) + 1e-6
    # Astigmatism with some defocus: a focal line along x/y, or along the diagonals.
    straight = moments(Pupil(SHAPE, psf_size=31, defocus=0.1, astigmatism=0.2).psf)
    oblique = moments(Pupil(SHAPE, psf_size=31, defocus=0.1, astigmatism_oblique=0.2).psf)
    assert abs(straight["xx"] - straight["yy"]) > 1 and abs(straight["xy"]) < 1e-5
    assert abs(oblique["xy"]) > 0.5 and abs(oblique["xx"] - oblique["yy"]) < 1e-5
    for name in ("defocus", "spherical"):  # round aberrations keep the PSF round and centred
        assert m[name]["xx"] == pytest.approx(m[name]["yy"], rel=1e-5)
        assert abs(m[name]["x"]) < 1e-5 and abs(m[name]["y"]) < 1e-5


def test_a_point_source_is_imaged_as_the_psf() -> None:
    layer = Pupil((1, 21, 21), coma=0.15, defocus=0.1, psf_size=15, pad_mode="zeros")
    star = torch.zeros(1, 1, 21, 21)
    star[0, 0, 10, 10] = 1
    assert torch.allclose(layer(star)[0, 0, 3:18, 3:18], layer.psf, atol=1e-7)


def test_circular_padding_keeps_the_light() -> None:
    x = torch.rand(3, 2, 24, 24)
    y = Pupil((2, 24, 24), spherical=0.1, pad_mode="circular")(x)
    assert y.shape == x.shape
    assert torch.allclose(y.sum(dim=(2, 3)), x.sum(dim=(2, 3)), rtol=1e-5)


def test_learned_coefficients_get_gradients_and_round_trip() -> None:
    def make() -> Pupil:
        return Pupil(SHAPE, learnable=True, psf_size=9,
                     **{name: 0.05 * (i + 1) for i, name in enumerate(ABERRATIONS)})  # fmt: skip

    x = torch.rand(2, *SHAPE)
    assert_gradients_reach_input_and_parameters(make(), x)
    assert_state_dict_round_trip(make, x)
    assert sorted(make().state_dict()) == ["aberrations.latent", "aberrations.value"]
    maps = make().maps()
    assert maps["psf"].shape == (9, 9) and maps["wavefront"].shape == (64, 64)


def test_even_aberrations_have_no_gradient_at_a_perfect_lens() -> None:
    layer = Pupil(SHAPE, learnable=True, psf_size=9)
    (layer.psf * torch.rand(9, 9)).sum().backward()
    grad = dict(zip(ABERRATIONS, layer.aberrations.latent.grad.abs().tolist(), strict=True))
    assert grad["coma"] > 1e-3 and grad["coma_vertical"] > 1e-3
    for name in ("defocus", "astigmatism", "astigmatism_oblique", "spherical"):
        assert grad[name] < 1e-6


def test_an_even_psf_size_is_refused() -> None:
    with pytest.raises(ValueError, match=r"psf_size=8 is not accepted; expected .* odd"):
        Pupil(SHAPE, psf_size=8)


def airy_on_pixels(radius: float, size: int, fine: int = 15) -> torch.Tensor:
    """The Airy pattern with its first zero ``radius`` pixels out, integrated over each pixel
    (``fine`` x ``fine`` points a pixel), normalised to sum 1."""
    y, x = centred_grid(size * fine)
    v = 3.8317059702075125 * torch.hypot(x, y) / fine / radius
    airy = torch.where(v > 0, 2 * torch.special.bessel_j1(v) / v.clamp_min(1e-12), 1) ** 2
    h = airy.view(size, fine, size, fine).sum(dim=(1, 3))
    return h / h.sum()


@pytest.mark.parametrize(
    ("airy_radius", "oversample", "chosen"),
    [(1.0, None, 9), (2.0, None, 5), (3.0, None, 3), (2.0, 9, 9)],
)
def test_the_psf_is_integrated_over_each_pixel(airy_radius: float, oversample, chosen) -> None:
    layer = Pupil(SHAPE, airy_radius=airy_radius, psf_size=15, psf_oversample=oversample,
                  pupil_samples=256)  # fmt: skip
    assert layer.psf_oversample == chosen
    h = layer.psf.double()
    assert h.sum().item() == pytest.approx(1, abs=1e-6)
    assert torch.allclose(h, airy_on_pixels(airy_radius, 15, fine=21), atol=1e-2 * h.max().item())


def test_a_psf_sampled_below_nyquist_is_refused() -> None:
    # airy_radius 2: the cut-off is 0.61 cycles per pixel, above the 0.5 that one sample holds.
    with pytest.raises(ValueError, match=r"psf_oversample=1 samples the PSF below Nyquist .* >= 3"):
        Pupil(SHAPE, airy_radius=2.0, psf_oversample=1)
    assert Pupil(SHAPE, airy_radius=2.5, psf_oversample=1).psf_oversample == 1


def test_a_free_phase_starts_as_its_zernike_lens_and_learns_any_shape() -> None:
    zernike = Pupil(SHAPE, defocus=0.2, coma=0.1, psf_size=9)
    free = Pupil(SHAPE, defocus=0.2, coma=0.1, psf_size=9, pupil_phase="free", learnable=True)
    assert torch.allclose(free.psf, zernike.psf, atol=1e-6)
    target = torch.zeros(9, 9)
    target[4, 2] = target[4, 6] = 0.5  # two spots: no low-order Zernike lens makes this
    optimizer = torch.optim.Adam(free.parameters(), lr=0.02)
    for _ in range(200):
        optimizer.zero_grad()
        (free.psf - target).pow(2).sum().backward()
        optimizer.step()
    h = free.psf.detach()
    assert h[4, 2] + h[4, 6] > 3 * (zernike.psf[4, 2] + zernike.psf[4, 6])
    assert h.sum().item() == pytest.approx(1, abs=1e-6) and (h >= 0).all()
    assert free.maps()["wavefront"].shape == (64, 64) and "zernike_waves" not in free.maps()


def test_an_amplitude_mask_stays_in_0_to_1_and_dims_the_pupil() -> None:
    layer = Pupil(SHAPE, pupil_amplitude=True, learnable=True, psf_size=9, coma=0.1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1e3)
    (layer.psf * torch.randn(9, 9)).sum().backward()
    optimizer.step()
    layer.project()
    amplitude = layer.maps()["pupil_amplitude"]
    assert amplitude.min() >= 0 and amplitude.max() <= 1 and (amplitude < 1).any()
    assert torch.equal(
        amplitude[layer.aperture == 0], torch.zeros_like(amplitude[layer.aperture == 0])
    )
