"""Scenes held in memory as integer tensors, split and batched without per-sample Python."""

from __future__ import annotations

import math
import os
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from deepimg.config.constraints import Range
from deepimg.data.canvas import Background, Canvas
from deepimg.data.depth import DepthPlanes
from deepimg.data.fluorophores import FluorophoreScenes, fluorophore_data
from deepimg.data.raw import RawData
from deepimg.data.scatter import Layout, Scatter, tight_boxes
from deepimg.data.splits import stratified_take
from deepimg.errors import UserError


@dataclass
class Split:
    """The images, labels, (for segmentation) masks and (chosen by the source) HDR factors of
    one split, kept in step."""

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None = None
    gains: torch.Tensor | None = None

    def take(self, index: torch.Tensor) -> Split:
        masks = None if self.masks is None else self.masks[index]
        gains = None if self.gains is None else self.gains[index]
        return Split(self.images[index], self.labels[index], masks, gains)


def hdr_gains(n: int, dynamic_range: float, seed: int) -> torch.Tensor | None:
    """``n`` seeded log-uniform factors in [1, dynamic_range] (``(n, 1, 1, 1)``); None for 1."""
    if dynamic_range == 1:
        return None
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(n, generator=generator)
    return torch.exp(u * math.log(dynamic_range)).view(n, 1, 1, 1)


class InMemoryImages(Dataset):
    """Indexed by a *batch* of indices; returns float scenes and labels.

    Scenes are in [0, 1], or each multiplied by its own fixed ``gains`` factor (HDR scenes
    beyond the sensor's full scale). Without augmentation a batch is one tensor slice. With
    augmentation each scene of the batch goes through albumentations (per-sample Python is
    unavoidable there).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        max_value: int,
        augment: Callable[[np.ndarray], np.ndarray] | None = None,
        gains: torch.Tensor | None = None,
        canvas: Canvas | None = None,
        tops: torch.Tensor | None = None,
        masks: torch.Tensor | None = None,
        scatter: Scatter | None = None,
        layout: Layout | None = None,
        depth: DepthPlanes | None = None,
        planes: torch.Tensor | None = None,
    ) -> None:
        self.images, self.labels, self.max_value, self.augment = images, labels, max_value, augment
        self.gains, self.canvas, self.tops, self.masks = gains, canvas, tops, masks
        self.scatter, self.layout = scatter, layout  # several objects a canvas (detection)
        self.depth, self.planes = depth, planes  # each region's depth plane (depth)

    def scenes(self, index: list[int], images: torch.Tensor | None = None) -> torch.Tensor:
        """Float scenes of ``index`` (from ``images`` when given, e.g. augmented ones), on
        their canvases when there is one."""
        if self.scatter is not None:
            return self.scatter.place(self.layout, index, self.images, self.max_value)
        images = self.images[index] if images is None else images
        scenes = images.float().div_(self.max_value)
        if self.gains is not None:
            scenes = scenes.mul_(self.gains[index])
        if self.canvas is not None:
            scenes = self.canvas.place(scenes, self.tops[index], index, self.images, self.max_value)
        return scenes

    def extras(self, index: list[int]) -> dict[str, torch.Tensor]:
        """What a batch carries besides scenes and labels: the objects' centres on a canvas,
        the masks of a segmentation source, the boxes ``(B, N, 4)`` and classes ``(B, N)``
        of several objects a canvas (class -1: no object)."""
        extras = {}
        if self.scatter is not None:
            members = self.layout.members[index]
            extras["boxes"] = self.layout.boxes[index]
            extras["box_labels"] = torch.where(members >= 0, self.labels[members.clamp(min=0)], -1)
        if self.canvas is not None:
            extras["position"] = Canvas.centres(self.tops[index], tuple(self.images.shape[-2:]))
        if self.masks is not None:
            extras["mask"] = self.masks[index].long()
        if self.depth is not None:
            extras["depth"] = self.depth.depth_map(
                self.planes[index], tuple(self.images.shape[-2:])
            )
        return extras

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: list[int]) -> tuple:
        """``(scenes, labels)``, and a dict of extras (``position``) when there are any."""
        images = self.images[index]
        if self.augment is not None:
            hwc = images.permute(0, 2, 3, 1).numpy()
            images = torch.from_numpy(np.stack([self.augment(im) for im in hwc])).permute(
                0, 3, 1, 2
            )
        extras = self.extras(index)
        batch = (self.scenes(index, images), self.labels[index])
        return (*batch, extras) if extras else batch


class ImageDataModule(pl.LightningDataModule):
    """The shared part of every base dataset: splits, batches and augmentation.

    A subclass only says how to ``load()`` its raw data. An official test (or validation)
    split is used as published; otherwise a stratified, seeded ``test_fraction``
    (``val_fraction``) of train is held out. ``train_size`` (a count) subsamples what
    remains of train, stratified, for fast runs. ``canvas`` places each scene whole at its
    own seeded position on a ``canvas`` x ``canvas`` background (``background``: zero, noise
    up to ``background_level``, or clutter from other scenes), for localisation; the batch
    then carries each object's centre. ``dynamic_range`` D > 1 makes HDR scenes:
    each scene is multiplied by its own seeded log-uniform factor in [1, D], so scenes exceed
    the sensor's full scale of 1 (an ``exposure`` pattern then has something to recover).
    ``fluorophores`` K makes scenes of K fluorophores from a grayscale source, one
    concentration map a channel (``fluorophore_scenes``: ``mixture`` or ``one``, see
    ``data/fluorophores.py``), for ``physical_layer=fluorescence``.
    """

    has_classes = True  # labels are classes to learn (not so for patches: their source image)

    def __init__(
        self,
        batch_size: Annotated[int, Range(1)] = 128,
        val_fraction: Annotated[float, Range(0.001, 0.9)] = 0.1,
        test_fraction: Annotated[float, Range(0.001, 0.9)] = 0.2,
        train_size: Annotated[int, Range(10)] | None = None,
        split_seed: int = 0,
        num_workers: Annotated[int, Range(0)] = 0,
        dynamic_range: Annotated[float, Range(1, 1e6)] = 1.0,
        canvas: Annotated[int, Range(2, 4096)] | None = None,
        background: Background = "zero",
        background_level: Annotated[float, Range(0, 1)] = 0.2,
        mask_threshold: Annotated[float, Range(0, 1)] = 0.1,
        fluorophores: Annotated[int, Range(1, 16)] | None = None,
        fluorophore_scenes: FluorophoreScenes = "mixture",
        augmentation: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.fluorophores, self.fluorophore_scenes = fluorophores, fluorophore_scenes
        self.dynamic_range = float(dynamic_range)
        self.mask_threshold = mask_threshold  # silhouettes for segmentation, of full scale
        self.background, self.background_level = background, background_level
        self.canvas = Canvas(canvas, background, background_level, split_seed) if canvas else None
        self.scatter: Scatter | None = None  # several objects a canvas: use_scatter
        self.depth: DepthPlanes | None = None  # scenes at depths: use_depth
        self.batch_size, self.train_size = batch_size, train_size
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.split_seed, self.num_workers, self.augmentation = split_seed, num_workers, augmentation
        self.raw: RawData | None = None

    @abstractmethod
    def load(self) -> RawData:
        """Read the source's images and labels (called once, lazily); never downloads."""

    def fetch(self) -> None:
        """Make the source's files present, downloading them if need be; nothing for sources
        that are on disk already."""

    def prepare_data(self) -> None:
        """Lightning calls this in one process per machine, so a download happens once."""
        self.fetch()

    def setup(self, stage: str | None = None) -> None:
        if self.raw is not None:
            return
        # deepimg reads the data before the Trainer exists (the network is sized from it), so
        # the first process fetches here too; the other ranks of a DDP run, which it starts
        # later, find the files in place.
        if os.environ.get("LOCAL_RANK", "0") == "0":
            self.prepare_data()
        raw = self.load()
        if self.fluorophores is not None:
            try:
                raw = fluorophore_data(
                    raw, self.fluorophores, self.fluorophore_scenes, self.split_seed
                )
            except ValueError as err:
                raise UserError(str(err)) from None
        self.raw = raw
        self._make_splits()

    def use_canvas(self, size: int | None = None) -> None:
        """Place the scenes on a canvas (``size``, default twice the scenes' side) when
        ``canvas`` was not set: localisation needs one."""
        if self.canvas is not None:
            return
        self.setup()
        side = size or 2 * max(self.raw.train_images.shape[-2:])
        self.canvas = Canvas(side, self.background, self.background_level, self.split_seed)
        self._make_splits()

    def use_scatter(self, objects: int, overlap: float) -> None:
        """Place 1 to ``objects`` scenes on each canvas (``dataset.canvas``, default twice the
        scenes' side), boxes overlapping by at most ``overlap`` IoU: detection needs them."""
        self.setup()
        side = self.canvas.size if self.canvas else 2 * max(self.raw.train_images.shape[-2:])
        self.canvas = None  # the scatter takes the canvas's place
        self.scatter = Scatter(
            side, objects, overlap, self.background, self.background_level, self.split_seed
        )
        self._make_splits()

    def use_depth(self, depth: DepthPlanes) -> None:
        """Put each scene's regions on depth planes (``data/depth.py``): depth needs them."""
        self.setup()
        self.depth = depth
        self._make_splits()

    def _make_splits(self) -> None:
        raw = self.raw
        train = Split(raw.train_images, raw.train_labels, raw.train_masks, raw.train_gains)
        if raw.test_images is None:
            test, train = self._hold_out(train, self.test_fraction)
        else:
            test = Split(raw.test_images, raw.test_labels, raw.test_masks, raw.test_gains)
        if raw.val_images is None:
            val, train = self._hold_out(train, self.val_fraction)
        else:
            val = Split(raw.val_images, raw.val_labels, raw.val_masks, raw.val_gains)
        if self.train_size is not None and self.train_size > len(train.labels):
            raise UserError(
                f"dataset.train_size={self.train_size} is more than the {len(train.labels)} "
                f"training images; choose at most {len(train.labels)}, or null for all"
            )
        if self.train_size is not None and self.train_size < len(train.labels):
            keep, _ = stratified_take(train.labels, self.train_size, self.split_seed)
            train = train.take(keep)
        for name, split in (("train", train), ("val", val), ("test", test)):
            if len(split.labels) == 0:
                raise UserError(
                    f"the {name} split is empty: {len(raw.train_labels)} images are too few to "
                    "split; add images, or give val/test folders"
                )
        if self.scatter is not None and self.augmentation is not None:
            raise UserError(
                "several objects a canvas do not follow augmentation yet (their boxes would "
                "not move with it); use augmentation=none"
            )
        if train.masks is not None and (
            self.augmentation is not None or self.canvas or self.scatter
        ):
            raise UserError(
                "masks do not follow augmentation or a canvas yet; use augmentation=none and "
                "dataset.canvas=null with a segmentation folder"
            )
        if self.depth is not None and (
            self.augmentation is not None or self.canvas or self.scatter
        ):
            raise UserError(
                "scenes at depths do not follow augmentation or a canvas yet (the depth map would "
                "not move with them); use augmentation=none and dataset.canvas=null"
            )
        for field, owner in (
            (self.canvas, "dataset."),
            (self.scatter, "dataset."),
            (self.depth, ""),
        ):
            try:
                if field is not None:
                    field.check(tuple(train.images.shape[-2:]))
            except ValueError as err:
                raise UserError(f"{owner}{err}") from None
        for k, (name, split) in enumerate({"train": train, "val": val, "test": test}.items()):
            n, seed = len(split.labels), self.split_seed * 3 + k
            tops = layout = None
            if self.canvas is not None:  # fixed, seeded positions: test positions never change
                tops = self.canvas.top_left(n, tuple(split.images.shape[-2:]), seed)
            if self.scatter is not None:  # likewise the objects of each canvas
                boxes = tight_boxes(split.images, self.mask_threshold * raw.max_value)
                layout = self.scatter.layout(boxes, tuple(split.images.shape[-2:]), seed)
            planes = self.depth.draw(n, seed) if self.depth is not None else None
            dataset = InMemoryImages(
                split.images, split.labels, raw.max_value,
                augment=self.augmentation if name == "train" else None,
                gains=(
                    hdr_gains(n, self.dynamic_range, seed)
                    if split.gains is None
                    else split.gains.view(n, 1, 1, 1)
                ),
                canvas=self.canvas, tops=tops, masks=split.masks,
                scatter=self.scatter, layout=layout, depth=self.depth, planes=planes,
            )  # fmt: skip
            setattr(self, name, dataset)

    def _hold_out(self, split: Split, fraction: float) -> tuple[Split, Split]:
        """(held out, remaining), stratified by label and seeded."""
        taken, rest = stratified_take(split.labels, fraction, self.split_seed)
        return split.take(taken), split.take(rest)

    @property
    def bit_depth(self) -> int:
        return self._loaded().bit_depth

    def class_balance(self) -> pd.DataFrame:
        """Images per class in each split, with the class names as index."""
        self.setup()
        counts = {
            split: getattr(self, split).labels.bincount(minlength=self.num_classes).tolist()
            for split in ("train", "val", "test")
        }
        return pd.DataFrame(counts, index=pd.Index(self.class_names, name="class"))

    @property
    def class_names(self) -> list[str]:
        return self._loaded().class_names

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one scene (of its canvas, when there is one)."""
        shape = tuple(self._loaded().train_images.shape[1:])
        field = self.canvas or self.scatter
        return shape if field is None else (shape[0], field.size, field.size)

    @property
    def channels(self) -> int:
        return self.in_shape[0]

    @property
    def img_size(self) -> tuple[int, int]:
        return self.in_shape[1], self.in_shape[2]

    def _loaded(self) -> RawData:
        self.setup()
        return self.raw

    def _loader(self, dataset: InMemoryImages, shuffle: bool) -> DataLoader:
        order = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        # Each sampled item is a list of indices, so the dataset slices whole batches.
        return DataLoader(
            dataset,
            sampler=BatchSampler(order, self.batch_size, drop_last=False),
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test, shuffle=False)

    def scenes(self, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` scenes of a split, without augmentation (for statistics and pictures)."""
        self.setup()
        dataset: InMemoryImages = getattr(self, split)
        index = list(range(min(n, len(dataset))))
        return dataset.scenes(index), dataset.labels[index]

    def positions(self, split: str, n: int) -> torch.Tensor | None:
        """The centres ``(n, 2)`` of the first ``n`` objects of a split on their canvases."""
        self.setup()
        dataset: InMemoryImages = getattr(self, split)
        return dataset.extras(list(range(min(n, len(dataset))))).get("position")
