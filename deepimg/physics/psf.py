"""Point-spread functions: non-negative kernels that sum to 1, on a square grid of pixels."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

MAX_PSF_PIXELS = 4096 * 4096

PadMode = Literal["reflect", "replicate", "circular", "zeros"]


def normalize(psf: torch.Tensor) -> torch.Tensor:
    """Clip to non-negative and scale to unit sum: a PSF redistributes light, it never makes any."""
    psf = psf.clamp_min(0)
    return psf / psf.sum()


def grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates (y, x) of a ``size`` x ``size`` kernel, 0 at its centre."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    return torch.meshgrid(r, r, indexing="ij")


def kernel_size(extent: float) -> int:
    """The odd size that holds a PSF reaching ``extent`` pixels from its centre."""
    return 2 * math.ceil(extent) + 1


def delta(size: int = 1) -> torch.Tensor:
    psf = torch.zeros(size, size, dtype=torch.float64)
    psf[size // 2, size // 2] = 1
    return psf


def gaussian(sigma: float, size: int | None = None) -> torch.Tensor:
    """exp(-r^2 / 2 sigma^2), cut at 3 sigma; ``sigma`` in pixels (0 gives the delta)."""
    if sigma == 0:
        return delta(size or 1)
    y, x = grid(size or kernel_size(3 * sigma))
    return normalize(torch.exp(-(x**2 + y**2) / (2 * sigma**2)))


def disk(radius: float, size: int | None = None, oversample: int = 8) -> torch.Tensor:
    """A uniform disk of ``radius`` pixels (geometric defocus), area-weighted at its edge."""
    if radius == 0:
        return delta(size or 1)
    size = size or kernel_size(radius)
    fine = grid(size * oversample)
    inside = ((fine[0] ** 2 + fine[1] ** 2) <= (radius * oversample) ** 2).double()
    return normalize(inside.reshape(size, oversample, size, oversample).mean(dim=(1, 3)))


def motion(
    length: float, angle: float = 0.0, size: int | None = None, samples: int = 200
) -> torch.Tensor:
    """A straight exposure track of ``length`` pixels at ``angle`` degrees (0 = horizontal),
    centred, spread over the pixels it crosses with bilinear weights."""
    if length == 0:
        return delta(size or 1)
    size = size or kernel_size(length / 2 + 1)
    t = torch.linspace(-length / 2, length / 2, samples, dtype=torch.float64)
    theta = math.radians(angle)
    xs, ys = t * math.cos(theta) + (size - 1) / 2, -t * math.sin(theta) + (size - 1) / 2
    psf = torch.zeros(size, size, dtype=torch.float64)
    x0, y0 = xs.floor().long(), ys.floor().long()
    for dx in (0, 1):
        for dy in (0, 1):
            w = (1 - (xs - x0 - dx).abs()) * (1 - (ys - y0 - dy).abs())
            xi, yi = x0 + dx, y0 + dy
            ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
            psf.index_put_((yi[ok], xi[ok]), w[ok], accumulate=True)
    return normalize(psf)


def check_psf_pixels(path: str, pixels: int) -> None:
    """A measured PSF is a kernel, not a scene: a file that declares more than
    ``MAX_PSF_PIXELS`` is refused before it is read (a small file can declare gigabytes)."""
    if pixels > MAX_PSF_PIXELS:
        raise ValueError(
            f"PSF file '{path}' holds {pixels:,} values, more than the {MAX_PSF_PIXELS:,} of "
            "a 4096 x 4096 kernel; crop it around its centre"
        )


def from_file(path: str) -> torch.Tensor:
    """A measured PSF from ``.npy`` or an image file (``.png``, ``.tif``, ...), normalised."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"PSF file '{path}' does not exist")
    if file.suffix == ".npy":
        try:  # memory-mapped: the header's shape is checked before any data is read
            mapped = np.load(file, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"PSF file '{path}' is not a readable .npy array ({err})") from None
        check_psf_pixels(path, mapped.size)
        array = np.array(mapped, dtype=np.float64)
    else:
        from PIL import Image, UnidentifiedImageError

        try:
            with warnings.catch_warnings():  # the check below decides, not PIL's warning
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(file)
        except (UnidentifiedImageError, Image.DecompressionBombError) as err:
            raise ValueError(f"PSF file '{path}' is not a readable image ({err})") from None
        with image:
            check_psf_pixels(path, image.size[0] * image.size[1])
            array = np.asarray(
                image.convert("F") if image.mode not in ("I;16", "I") else image, dtype=np.float64
            )
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] % 2 == 0:
        raise ValueError(
            f"PSF file '{path}' must hold one square kernel of odd size, got shape {array.shape}"
        )
    if array.min() < 0 or array.sum() <= 0:
        raise ValueError(f"PSF file '{path}' must be non-negative with a positive sum")
    return normalize(torch.from_numpy(array))


def extended_indices(n: int, before: int, after: int, pad_mode: PadMode) -> torch.Tensor:
    """Indices into a length-``n`` axis that extend it by ``before`` and ``after`` samples:
    mirrored without repeating the edge (``reflect``), periodic (``circular``) or the edge
    repeated (``replicate``), however far beyond the axis they reach."""
    i = torch.arange(-before, n + after)
    if pad_mode == "circular":
        return i % n
    if pad_mode == "reflect" and n > 1:
        i = i % (2 * n - 2)
        return torch.where(i < n, i, 2 * n - 2 - i)
    return i.clamp(0, n - 1)


def extend(x: torch.Tensor, before: int, after: int, pad_mode: PadMode) -> torch.Tensor:
    """``x`` ``(B, C, H, W)`` extended by ``before``/``after`` pixels on both axes. A PSF wider
    than the image (a large blur on 8x8 digits) reaches beyond one reflection, which
    ``F.pad`` refuses; the indices of ``extended_indices`` go on mirroring."""
    if pad_mode == "zeros":
        return F.pad(x, (before, after, before, after), mode="constant")
    h, w = x.shape[-2:]
    if max(before, after) < min(h, w):  # F.pad's own kernel suffices
        return F.pad(x, (before, after, before, after), mode=pad_mode)
    rows = extended_indices(h, before, after, pad_mode).to(x.device)
    cols = extended_indices(w, before, after, pad_mode).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def convolve(x: torch.Tensor, h: torch.Tensor, pad_mode: PadMode = "reflect") -> torch.Tensor:
    """Blur each channel of ``x`` ``(B, C, H, W)`` by a PSF, keeping the size ``(H, W)``:

        y_c(i, j) = sum_{k,l} h_c(k, l) x_c(i - k, j - l)

    ``h`` is one ``(k, k)`` PSF for every channel or ``(C, k, k)``, one per channel. Borders
    are extended by ``pad_mode`` (``circular`` keeps the total light exactly).
    """
    channels, k = x.shape[1], h.shape[-1]
    h = h.to(x.dtype).expand(channels, k, k)
    if k == 1:
        return x * h.view(1, channels, 1, 1)
    # (k - 1) // 2 before and k // 2 after: the output keeps the input's size for odd and
    # even kernels alike.
    before, after = (k - 1) // 2, k // 2
    x = extend(x, before, after, pad_mode)
    # conv2d correlates; flipping h makes it the convolution of the forward model.
    return F.conv2d(x, h.flip(-1, -2).unsqueeze(1), groups=channels)
