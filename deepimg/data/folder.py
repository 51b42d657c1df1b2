"""Your own images in the ImageFolder layout: ``root/<CLASS>/*.png`` (or split folders above it).

Kaggle's blood-cell images come as ``images/TRAIN/EOSINOPHIL/*.jpeg`` and
``images/TEST/...``: point ``root`` at ``images`` and those splits are used. 16-bit TIFF
and PNG keep their full precision, which matters for bit-depth studies.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F

from deepimg.config.constraints import ExistingDir, Range
from deepimg.data.datamodule import ImageDataModule
from deepimg.data.download import cache_dir
from deepimg.data.raw import RawData
from deepimg.errors import UserError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

log = logging.getLogger(__name__)

SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
SPLITS = {"train": "train", "training": "train", "val": "val", "valid": "val",
          "validation": "val", "test": "test", "testing": "test"}  # fmt: skip
CACHE_VERSION = 1
MAX_PIXELS = 50_000_000  # a 50-megapixel frame; dataset.max_pixels raises the cap
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)  # ITU-R BT.601 weights for RGB -> gray


def split_folders(root: Path) -> dict[str, Path]:
    """``{"train": ..., "val": ..., "test": ...}`` from split-named subfolders (any case), else
    ``{"train": root}``: then the splits are held out, stratified and seeded."""
    found = {
        SPLITS[d.name.lower()]: d
        for d in sorted(root.iterdir())
        if d.is_dir() and d.name.lower() in SPLITS
    }
    return found if "train" in found else {"train": root}


def class_files(folder: Path, classes: list[str] | None = None) -> dict[str, list[Path]]:
    """Image files per class folder; every class must hold at least one image."""
    names = classes or sorted(
        d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
    )
    if not names:
        raise UserError(
            f"'{folder}' holds no class folders; expected {folder}/<CLASS>/*.png (or .jpg, .tif, ...)"
        )
    files = {}
    for name in names:
        found = sorted(p for p in (folder / name).rglob("*") if p.suffix.lower() in SUFFIXES)
        if not found:
            raise UserError(
                f"class folder '{folder / name}' holds no images ({', '.join(sorted(SUFFIXES))})"
            )
        files[name] = found
    return files


class ImageTooLarge(ValueError):
    """An image whose header declares more pixels than ``max_pixels``: it is not decoded."""


@contextmanager
def open_image(path: Path, max_pixels: int = MAX_PIXELS) -> Iterator[PILImage]:
    """``PIL.Image.open(path)``, refused before decoding when the header declares more than
    ``max_pixels`` pixels. A 419 KB PNG can declare 12,000 x 12,000 pixels and decode to
    4.95 GB; PIL's own guard only warns below 179 million pixels."""
    from PIL import Image

    with warnings.catch_warnings():  # PIL's warning: the check below decides instead
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as err:
            raise ImageTooLarge(f"'{path}' is too large to decode ({err})") from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"'{path}' declares {width}x{height} pixels, more than dataset.max_pixels="
                f"{max_pixels:,}; raise it to read such images"
            )
        yield image


def decode(path: Path, max_pixels: int = MAX_PIXELS) -> tuple[torch.Tensor, int]:
    """One image as float (C, H, W) in [0, 1], and its bit depth (8 or 16); see ``open_image``."""
    with open_image(path, max_pixels) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray (PNG opens as "I")
            array, bits = np.asarray(image, dtype=np.float32)[None] / 65535.0, 16
        else:
            image = image.convert("RGB" if image.mode not in ("L", "1") else "L")
            array, bits = np.asarray(image, dtype=np.float32) / 255.0, 8
            array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array)), bits


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[0] == channels:
        return x
    return (x * LUMA).sum(0, keepdim=True) if channels == 1 else x.expand(3, -1, -1)


def segmentation_layout(root: Path) -> dict[str, Path] | None:
    """``{split: folder}`` where each folder holds ``images/`` and ``masks/``: ``root`` itself
    (then splits are held out), or its split folders; None for a class-folder layout."""
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return {"train": root}
    folders = split_folders(root)
    if "train" in folders and folders["train"] != root and (folders["train"] / "masks").is_dir():
        return folders
    return None


def paired_files(folder: Path) -> list[tuple[Path, Path]]:
    """(image, mask) pairs of ``folder/images`` and ``folder/masks``, matched by name; a file
    without its partner is an error that names it."""
    images = {
        p.stem: p for p in sorted((folder / "images").iterdir()) if p.suffix.lower() in SUFFIXES
    }
    masks = {
        p.stem: p for p in sorted((folder / "masks").iterdir()) if p.suffix.lower() in SUFFIXES
    }
    for stem, path in images.items():
        if stem not in masks:
            raise UserError(f"image '{path}' has no mask: expected {folder / 'masks' / stem}.png")
    for stem, path in masks.items():
        if stem not in images:
            raise UserError(f"mask '{path}' has no image in {folder / 'images'}")
    if not images:
        raise UserError(f"'{folder / 'images'}' holds no images")
    return [(images[s], masks[s]) for s in sorted(images)]


def decode_mask(path: Path, num_classes: int, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """A mask as class indices ``(H, W)``: binary masks (0 and one other value) as 0/1,
    else the values themselves, which must be below ``num_classes``."""
    with open_image(path, max_pixels) as image:
        # palette and gray images hold the indices themselves; colour ones are reduced to gray
        raw = image if image.mode in ("P", "L", "I", "I;16", "1") else image.convert("L")
        values = torch.from_numpy(np.asarray(raw).astype(np.int64))
    levels = values.unique()
    if len(levels) <= 2 and levels.max() > num_classes - 1:  # 0/255 or 0/1 masks
        return (values > 0).long()
    if levels.max() >= num_classes:
        raise UserError(
            f"mask '{path}' holds class {int(levels.max())}; set dataset.num_classes above it"
        )
    return values


class ImageFolder(ImageDataModule):
    """Images from class folders, decoded once and cached as tensors.

    A segmentation folder instead holds ``images/<name>.png`` and ``masks/<name>.png`` (in
    ``root`` or in each of its ``train/``, ``val/``, ``test/`` folders): each mask is binary
    or a label-index image of ``num_classes`` classes (0 the background).

    Unreadable files are skipped with a warning that names them, and so are images whose
    header declares more than ``max_pixels`` pixels (they are never decoded). All images are resized to
    ``img_size`` x ``img_size`` (anti-aliased) when it is set, else they must share a size.
    The store is uint16 when any image is 16-bit (8-bit ones scaled by 257), else uint8.
    """

    def __init__(
        self,
        root: Annotated[str, ExistingDir()],
        img_size: Annotated[int, Range(4, 2048)] | None = None,
        channels: Literal[1, 3] = 1,
        cache: bool = True,
        num_classes: Annotated[int, Range(2, 256)] = 2,
        max_pixels: Annotated[int, Range(1)] = MAX_PIXELS,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.root, self.cache = Path(root).expanduser(), cache
        self.max_pixels = max_pixels
        self.segmentation_classes = num_classes
        self.size, self.want_channels = img_size, channels  # `channels`, `img_size`: what loaded

    def load(self) -> RawData:
        layout = segmentation_layout(self.root)
        if layout is not None:
            self.has_classes = False
            return self._load_segmentation(layout)
        folders = split_folders(self.root)
        files = {split: class_files(folder) for split, folder in folders.items()}
        classes = list(files["train"])
        for split, per_class in files.items():
            if list(per_class) != classes:
                raise UserError(
                    f"the {split} folder's classes {list(per_class)} differ from train's {classes}"
                )
        cache = cache_dir() / "folder" / f"{self._cache_key(files)}.pt"
        if self.cache and cache.is_file():
            log.info("images of %s from the cache %s", self.root, cache)
            return RawData(**torch.load(cache, weights_only=True))
        raw = self._decode_all(files, classes)
        if self.cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            torch.save(vars(raw), cache)
        return raw

    def _cache_key(self, files: dict[str, dict[str, list[Path]]]) -> str:
        listing = [
            (split, name, str(p.relative_to(self.root)), p.stat().st_size, p.stat().st_mtime_ns)
            for split, per_class in files.items() for name, paths in per_class.items() for p in paths
        ]  # fmt: skip
        settings = [CACHE_VERSION, str(self.root.resolve()), self.size, self.want_channels, listing]
        settings += [self.max_pixels] if self.max_pixels != MAX_PIXELS else []  # old keys stay
        return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:20]

    def _decode_all(self, files: dict[str, dict[str, list[Path]]], classes: list[str]) -> RawData:
        decoded: dict[str, tuple[list[torch.Tensor], list[int]]] = {}
        depth = 8
        unreadable: list[str] = []
        for split, per_class in files.items():
            images, labels = [], []
            for label, name in enumerate(classes):
                before = len(labels)
                for path in per_class[name]:
                    try:
                        image, bits = decode(path, self.max_pixels)
                    except ImageTooLarge as err:
                        log.warning("skipped: %s", err)
                        continue
                    except Exception:  # any decoder error: skip the file, name it below
                        unreadable.append(str(path))
                        continue
                    images.append(self._resize(to_channels(image, self.want_channels)))
                    labels.append(label)
                    depth = max(depth, bits)
                if len(labels) == before:
                    raise UserError(
                        f"class '{name}' has no readable images in {per_class[name][0].parent}"
                    )
            decoded[split] = (images, labels)
        if unreadable:  # one warning for all, so a bad folder does not flood the terminal
            shown = ", ".join(unreadable[:5]) + (" ..." if len(unreadable) > 5 else "")
            log.warning("skipping %d unreadable images: %s", len(unreadable), shown)
        shapes = {tuple(im.shape) for images, _ in decoded.values() for im in images}
        if len(shapes) > 1:
            raise UserError(
                f"images differ in size {sorted(shapes)[:3]}...; set dataset.img_size to resize them"
            )
        max_value = 2**depth - 1
        dtype = torch.uint16 if depth == 16 else torch.uint8
        tensors = {
            split: (torch.stack(images).mul_(max_value).round_().to(dtype), torch.tensor(labels))
            for split, (images, labels) in decoded.items()
        }
        log.info("decoded %d images of %s", sum(len(t[1]) for t in tensors.values()), self.root)
        return RawData(
            train_images=tensors["train"][0], train_labels=tensors["train"][1], class_names=classes,
            test_images=tensors.get("test", (None, None))[0], test_labels=tensors.get("test", (None, None))[1],
            val_images=tensors.get("val", (None, None))[0], val_labels=tensors.get("val", (None, None))[1],
            max_value=max_value,
        )  # fmt: skip

    def _load_segmentation(self, folders: dict[str, Path]) -> RawData:
        """Images and their masks, split by folder or held out (labels are all 0)."""
        loaded: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        depth = 8
        unreadable: list[str] = []
        for split, folder in folders.items():
            images, masks = [], []
            for image_path, mask_path in paired_files(folder):
                try:
                    image, bits = decode(image_path, self.max_pixels)
                    mask = decode_mask(mask_path, self.segmentation_classes, self.max_pixels)
                except ImageTooLarge as err:
                    log.warning("skipped: %s", err)
                    continue
                except UserError:
                    raise  # a mask with too many classes: the setting is wrong, not the file
                except Exception:  # any decoder error: skip the pair, name it below
                    unreadable.append(f"{image_path} or {mask_path}")
                    continue
                depth = max(depth, bits)
                if mask.shape != image.shape[-2:]:
                    raise UserError(
                        f"mask '{mask_path}' is {tuple(mask.shape)}, its image {tuple(image.shape[-2:])}"
                    )
                images.append(self._resize(to_channels(image, self.want_channels)))
                masks.append(self._resize_mask(mask))
            if not images:
                raise UserError(f"'{folder}' holds no readable image and mask pairs")
            loaded[split] = (torch.stack(images), torch.stack(masks))
        if unreadable:
            log.warning(
                "skipping %d unreadable pairs: %s", len(unreadable), ", ".join(unreadable[:5])
            )
        max_value = 2**depth - 1
        dtype = torch.uint16 if depth == 16 else torch.uint8

        def part(split: str, k: int) -> torch.Tensor | None:
            if split not in loaded:
                return None
            tensor = loaded[split][k]
            return tensor.mul(max_value).round_().to(dtype) if k == 0 else tensor.to(torch.uint8)

        def labels(split: str) -> torch.Tensor | None:
            return torch.zeros(len(loaded[split][0]), dtype=torch.long) if split in loaded else None

        return RawData(
            train_images=part("train", 0), train_labels=labels("train"), class_names=["image"],
            val_images=part("val", 0), val_labels=labels("val"),
            test_images=part("test", 0), test_labels=labels("test"), max_value=max_value,
            train_masks=part("train", 1), val_masks=part("val", 1), test_masks=part("test", 1),
        )  # fmt: skip

    def _resize_mask(self, mask: torch.Tensor) -> torch.Tensor:
        if self.size is None or mask.shape == (self.size, self.size):
            return mask
        size = (self.size, self.size)
        return F.interpolate(mask[None, None].float(), size=size, mode="nearest")[0, 0].long()

    def _resize(self, image: torch.Tensor) -> torch.Tensor:
        if self.size is None or image.shape[-2:] == (self.size, self.size):
            return image
        size = (self.size, self.size)
        return F.interpolate(
            image[None], size=size, mode="bilinear", antialias=True, align_corners=False
        )[0].clamp(0, 1)
