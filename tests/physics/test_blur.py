"""Blur: PSFs are non-negative with unit sum; a delta is the identity; light is conserved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepimg.physics import psf as psfs
from deepimg.physics.blur import Blur

PSFS = {
    "gaussian": psfs.gaussian(1.5),
    "disk": psfs.disk(2.5),
    "motion": psfs.motion(7, 30),
    "motion_vertical": psfs.motion(4, 90),
}


@pytest.mark.parametrize("name", PSFS)
def test_psf_is_non_negative_and_sums_to_one(name: str) -> None:
    h = PSFS[name]
    assert (h >= 0).all() and h.sum() == pytest.approx(1, abs=1e-9)
    assert h.shape[0] == h.shape[1] and h.shape[0] % 2 == 1


def test_psf_widths_follow_their_parameters() -> None:
    y, x = psfs.grid(41)
    for sigma in (1.0, 3.0):
        h = psfs.gaussian(sigma, 41)
        assert ((h * x**2).sum()).sqrt() == pytest.approx(sigma, rel=1e-3)
    dy, dx = psfs.grid(11)
    # E[r^2] = R^2 / 2 over a uniform disk
    assert (psfs.disk(5.0) * (dx**2 + dy**2)).sum() == pytest.approx(25 / 2, rel=0.05)
    h = psfs.motion(6, 0, size=9)
    assert (h.sum(dim=1) > 0).sum() == 1  # a horizontal track stays on one row


def test_a_delta_psf_is_the_identity() -> None:
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(Blur((3, 16, 16), sigma=0)(x), x)
    assert torch.allclose(Blur((3, 16, 16), sigma=0, psf_size=5, pad_mode="zeros")(x), x)


@pytest.mark.parametrize("kind", ["gaussian", "disk", "motion"])
def test_circular_padding_preserves_the_mean(kind: str) -> None:
    x = torch.rand(4, 1, 20, 20)
    y = Blur((1, 20, 20), psf=kind, sigma=2, radius=3, length=6, angle=20, pad_mode="circular")(x)
    assert y.shape == x.shape
    assert torch.allclose(y.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=1e-6)


def test_blur_is_a_convolution_not_a_correlation() -> None:
    kernel = torch.zeros(3, 3, dtype=torch.float64)
    kernel[1, 2] = 1  # all light one pixel to the right
    np.save("/tmp/_shift_psf.npy", kernel.numpy())
    x = torch.zeros(1, 1, 7, 7)
    x[0, 0, 3, 3] = 1
    y = Blur((1, 7, 7), psf="file", psf_file="/tmp/_shift_psf.npy", pad_mode="zeros")(x)
    assert y[0, 0, 3, 4] == 1 and y.sum() == 1


def test_psf_from_npy_and_png(tmp_path: Path) -> None:
    from PIL import Image

    h = psfs.gaussian(1.2).numpy()
    np.save(tmp_path / "p.npy", h * 7)
    Image.fromarray((h / h.max() * 255).astype(np.uint8)).save(tmp_path / "p.png")
    assert torch.allclose(psfs.from_file(str(tmp_path / "p.npy")), torch.from_numpy(h))
    assert psfs.from_file(str(tmp_path / "p.png")).sum() == pytest.approx(1)
    np.save(tmp_path / "bad.npy", np.ones((4, 4)))
    with pytest.raises(ValueError, match="odd size"):
        psfs.from_file(str(tmp_path / "bad.npy"))


def test_learned_psf_stays_a_psf_trains_and_round_trips() -> None:
    layer = Blur((1, 12, 12), sigma=1.0, learnable=True)
    x = torch.rand(8, 1, 12, 12, requires_grad=True)
    target = Blur((1, 12, 12), psf="motion", length=4)(x).detach()
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
    for _ in range(30):
        optimizer.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        assert torch.isfinite(layer.psf.latent.grad).all() and torch.isfinite(x.grad).all()
        optimizer.step()
        assert (layer.psf() >= 0).all() and layer.psf().sum().item() == pytest.approx(1, abs=1e-5)
    assert (
        loss < ((Blur((1, 12, 12), sigma=1.0)(x) - target) ** 2).mean()
    )  # it moved towards the target
    copy = Blur((1, 12, 12), sigma=1.0, learnable=True)
    copy.load_state_dict(layer.state_dict())
    assert torch.equal(copy(x), layer(x))
    assert layer.maps()["psf"].shape == layer.psf().shape


@pytest.mark.parametrize("size", [4, 5])
def test_any_kernel_size_keeps_the_image_size_and_the_light(size: int) -> None:
    # The layer takes odd sizes only (its annotation); the convolution itself takes any.
    from deepimg.physics.psf import convolve, gaussian

    x = torch.rand(2, 1, 12, 12)
    y = convolve(x, gaussian(1.0, size).float(), pad_mode="circular")
    assert y.shape == x.shape
    assert torch.allclose(y.sum(dim=(2, 3)), x.sum(dim=(2, 3)), rtol=1e-5)


@pytest.mark.parametrize("pad_mode", ["reflect", "circular", "replicate"])
def test_a_psf_wider_than_the_image_extends_it_as_far_as_needed(pad_mode: str) -> None:
    # On 8x8 digits a sigma-4 Gaussian spans 25 pixels: beyond one reflection of the image.
    from deepimg.physics.psf import extend, extended_indices

    x = torch.rand(2, 1, 8, 7)
    near = F.pad(x, (3, 4, 3, 4), mode=pad_mode)  # where F.pad can, the indices agree with it
    rows, cols = extended_indices(8, 3, 4, pad_mode), extended_indices(7, 3, 4, pad_mode)
    assert torch.equal(x.index_select(-2, rows).index_select(-1, cols), near)
    far = extend(x, 12, 12, pad_mode)
    assert far.shape == (2, 1, 32, 31)
    assert torch.equal(far[..., 12:20, 12:19], x)  # the image itself in the middle
    blur = Blur((1, 8, 8), psf="gaussian", sigma=4.0, pad_mode=pad_mode)
    flat = blur(torch.full((1, 1, 8, 8), 0.25))
    assert torch.allclose(
        flat, torch.full_like(flat, 0.25), atol=1e-6
    )  # light neither lost nor made


def test_a_psf_file_that_is_not_a_kernel_is_one_line(tmp_path: Path) -> None:
    """/etc/passwd, a header that declares 12,000 x 12,000 pixels, a .npy of 10^9 values:
    refused with one line before anything large is read."""
    from tests.data.test_folder import png_header_only

    with pytest.raises(ValueError, match="is not a readable image"):
        psfs.from_file("/etc/passwd")
    with pytest.raises(ValueError, match="144,000,000 values, more than"):
        psfs.from_file(str(png_header_only(tmp_path / "bomb.png", 12_000, 12_000)))
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))
    header["shape"] = (31623, 31623)  # about 10^9 doubles: 8 GB, in a file of 128 bytes
    with open(tmp_path / "huge.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
    with pytest.raises(ValueError, match="huge.npy"):
        psfs.from_file(str(tmp_path / "huge.npy"))
