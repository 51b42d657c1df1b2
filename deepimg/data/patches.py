"""Patches of large real images, for restoration: photographs and microscopy, offline.

By default the photographs and microscopy images that the scikit-image wheel ships in
``skimage/data/`` (no download); ``root=DIR`` takes your own large images instead.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Annotated, Literal

import torch

from deepimg.config.constraints import ExistingDir, Range
from deepimg.data.datamodule import ImageDataModule
from deepimg.data.folder import MAX_PIXELS, SUFFIXES, ImageTooLarge, decode, to_channels
from deepimg.data.raw import RawData
from deepimg.errors import UserError

log = logging.getLogger(__name__)

# scikit-image's images, split by whole image: no validation or test patch comes from an
# image that training saw. The stereo pair motorcycle_left/right show one scene: both train.
SKIMAGE_COLOUR = {
    "train": [
        "coffee",
        "hubble_deep_field",
        "ihc",
        "motorcycle_left",
        "motorcycle_right",
        "retina",
    ],
    "val": ["rocket"],
    "test": ["astronaut", "chelsea"],
}
SKIMAGE_GRAY = {  # used besides the colour ones (as luma) when channels=1
    "train": ["brick", "camera", "grass", "gravel", "moon", "page"],
    "val": ["coins"],
    "test": ["cell", "text"],
}
SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}


def skimage_folder() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def skimage_files(channels: int) -> dict[str, list[Path]]:
    """The default images of each split: colour ones, plus the gray ones for ``channels=1``."""
    folder = skimage_folder()
    by_stem = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES}
    sets = [SKIMAGE_COLOUR] + ([SKIMAGE_GRAY] if channels == 1 else [])
    return {split: [by_stem[n] for s in sets for n in s[split]] for split in SPLIT_SEEDS}


def held_out_files(root: Path, seed: int) -> dict[str, list[Path]]:
    """A user's images, split by whole image: ``train/``, ``val/``, ``test/`` subfolders when
    present, else one seeded image in ten for validation and one in five for test (at least
    one each)."""
    subfolders = {s: root / s for s in SPLIT_SEEDS if (root / s).is_dir()}
    if "train" in subfolders:
        files = {s: images_in(d) for s, d in subfolders.items()}
        if set(files) != set(SPLIT_SEEDS):
            raise UserError(f"'{root}' has {sorted(files)} folders; give train, val and test")
        return files
    found = images_in(root)
    if len(found) < 3:
        raise UserError(
            f"'{root}' holds {len(found)} images; patches holds out whole images, so give at "
            "least 3 (one each for train, val and test)"
        )
    order = torch.randperm(len(found), generator=torch.Generator().manual_seed(seed)).tolist()
    n_test, n_val = max(1, len(found) // 5), max(1, len(found) // 10)
    picked = [found[i] for i in order]
    return {
        "test": picked[:n_test],
        "val": picked[n_test : n_test + n_val],
        "train": picked[n_test + n_val :],
    }


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def random_crops(
    image: torch.Tensor, n: int, patch: int, generator: torch.Generator
) -> torch.Tensor:
    """``n`` crops ``(n, C, patch, patch)`` at seeded random positions of one image."""
    _, h, w = image.shape
    ys = torch.randint(0, h - patch + 1, (n,), generator=generator).tolist()
    xs = torch.randint(0, w - patch + 1, (n,), generator=generator).tolist()
    return torch.stack(
        [image[:, y : y + patch, x : x + patch] for y, x in zip(ys, xs, strict=True)]
    )


# A stored crop is its value rounded to the storage's levels, at most half an 8-bit step off:
# a pixel counts as saturated if it could be over full scale once stored.
STORED_SLACK = 0.5 / 255 + 1e-6
HDR_DRAWS = 1000  # draws of a crop and its factor before one at factor 1 (never saturated)


def saturated_share(crop: torch.Tensor, gain: float) -> float:
    """The share of a crop's pixels that its HDR factor may take above full scale (1.0)."""
    return ((crop + STORED_SLACK) * gain > 1).float().mean().item()


def hdr_crops(
    image: torch.Tensor,
    n: int,
    patch: int,
    dynamic_range: float,
    max_saturated: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` crops of one image ``(n, C, patch, patch)`` with their HDR factors ``(n,)``, each
    drawn with its factor (log-uniform in [1, dynamic_range], as ``hdr_gains``) and drawn
    again, position and factor, while more than ``max_saturated`` of its pixels would be
    above full scale; after ``HDR_DRAWS`` draws, the last position at factor 1."""
    _, h, w = image.shape
    crops, gains = [], []
    for _ in range(n):
        for _ in range(HDR_DRAWS):
            y = int(torch.randint(0, h - patch + 1, (1,), generator=generator))
            x = int(torch.randint(0, w - patch + 1, (1,), generator=generator))
            u = float(torch.rand(1, generator=generator))
            gain = float(torch.tensor(math.exp(u * math.log(dynamic_range))))  # float32, as stored
            crop = image[:, y : y + patch, x : x + patch]
            if saturated_share(crop, gain) <= max_saturated:
                break
        else:
            gain = 1.0
        crops.append(crop)
        gains.append(gain)
    return torch.stack(crops), torch.tensor(gains, dtype=torch.float32)


class Patches(ImageDataModule):
    """Seeded random ``patch`` x ``patch`` crops of large images, whole images held out.

    Each split's images give ``<split>_patches`` crops in all, shared equally among them,
    at positions drawn once from a generator seeded by ``split_seed`` and the split: the same
    crops on every run, the test crops fixed. The label of a crop is the index of its
    image (``class_names`` are the image names), so the class-balance table shows where the
    crops came from; there are no classes to learn, so ``task=classify`` is refused.

    ``max_saturated``: in HDR scenes (``dynamic_range`` D > 1, each crop multiplied by its
    own log-uniform factor in [1, D]), the largest share of a crop's pixels allowed above
    full scale (1.0, where the shortest exposure saturates); a crop over it is drawn again,
    its position and its factor, from the same seeded generator (Metzler et al. 2020 train on
    mostly unsaturated crops). null (the default) draws crops and factors as before.

    Without ``root``: scikit-image's photographs and microscopy images (``SKIMAGE_COLOUR``,
    plus ``SKIMAGE_GRAY`` as luma for ``channels=1``). With ``root``: every PNG, JPEG, TIFF
    or BMP in it, or in its ``train/``, ``val/``, ``test/`` subfolders; 16-bit images keep
    their 16 bits.
    """

    has_classes = False

    def __init__(
        self,
        root: Annotated[str, ExistingDir()] | None = None,
        patch: Annotated[int, Range(4, 1024)] = 32,
        channels: Literal[1, 3] = 3,
        train_patches: Annotated[int, Range(1)] = 8192,
        val_patches: Annotated[int, Range(1)] = 512,
        test_patches: Annotated[int, Range(1)] = 1024,
        max_pixels: Annotated[int, Range(1)] = MAX_PIXELS,
        max_saturated: Annotated[float, Range(0, 1)] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.max_saturated = max_saturated
        self.root = Path(root).expanduser() if root else None
        self.max_pixels = max_pixels
        self.patch, self.want_channels = patch, channels
        self.counts = {"train": train_patches, "val": val_patches, "test": test_patches}

    def load(self) -> RawData:
        files = (
            held_out_files(self.root, self.split_seed)
            if self.root
            else skimage_files(self.want_channels)
        )
        names = [p.stem for split in SPLIT_SEEDS for p in files[split]]
        depth = 8
        crops: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        gains: dict[str, torch.Tensor | None] = {}
        hdr = self.max_saturated is not None and self.dynamic_range > 1
        for split, paths in files.items():
            generator = torch.Generator().manual_seed(self.split_seed * 3 + SPLIT_SEEDS[split])
            per_image = -(-self.counts[split] // len(paths))  # ceil: every image contributes
            images, labels, factors = [], [], []
            for path in paths:
                image, bits = self.read(path)
                depth = max(depth, bits)
                if hdr:
                    drawn, factor = hdr_crops(
                        image, per_image, self.patch, self.dynamic_range,
                        self.max_saturated, generator,
                    )  # fmt: skip
                    images.append(drawn)
                    factors.append(factor)
                else:
                    images.append(random_crops(image, per_image, self.patch, generator))
                labels.append(torch.full((per_image,), names.index(path.stem)))
            n = self.counts[split]
            crops[split] = (torch.cat(images)[:n], torch.cat(labels)[:n])
            gains[split] = torch.cat(factors)[:n] if hdr else None
        max_value = 2**depth - 1
        dtype = torch.uint16 if depth == 16 else torch.uint8
        store = {s: (x.mul(max_value).round_().to(dtype), y) for s, (x, y) in crops.items()}
        return RawData(
            train_images=store["train"][0], train_labels=store["train"][1], class_names=names,
            val_images=store["val"][0], val_labels=store["val"][1],
            test_images=store["test"][0], test_labels=store["test"][1], max_value=max_value,
            train_gains=gains["train"], val_gains=gains["val"], test_gains=gains["test"],
        )  # fmt: skip

    def read(self, path: Path) -> tuple[torch.Tensor, int]:
        """One image as float ``(C, H, W)`` in [0, 1] with the wanted channels, and its bits."""
        try:
            image, bits = decode(path, self.max_pixels)
        except ImageTooLarge as err:
            raise UserError(str(err)) from None
        except Exception as err:  # any decoder error: name the file
            raise UserError(f"cannot read image '{path}' ({err})") from None
        image = to_channels(image[:3], self.want_channels)
        if min(image.shape[-2:]) < self.patch:
            raise UserError(
                f"image '{path}' is {image.shape[-1]}x{image.shape[-2]}, smaller than "
                f"patch={self.patch}; choose a smaller dataset.patch"
            )
        return image, bits
