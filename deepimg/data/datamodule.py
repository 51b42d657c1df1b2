"""Scenes held in memory as integer tensors, split and batched without per-sample Python."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from deepimg.constraints import Range
from deepimg.data.splits import stratified_take


@dataclass
class RawData:
    """A source's images ``(N, C, H, W)`` of an integer dtype, labels ``(N,)`` and class names."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: list[str]
    max_value: int = 255  # full scale of the stored integers: 255 for 8-bit sources


class InMemoryImages(Dataset):
    """Indexed by a *batch* of indices; returns float scenes in [0, 1] and labels.

    Without augmentation a batch is one tensor slice. With augmentation each scene of
    the batch goes through albumentations (per-sample Python is unavoidable there).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        max_value: int,
        augment: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.images, self.labels, self.max_value, self.augment = images, labels, max_value, augment

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        images = self.images[index]
        if self.augment is not None:
            hwc = images.permute(0, 2, 3, 1).numpy()
            images = torch.from_numpy(np.stack([self.augment(im) for im in hwc])).permute(
                0, 3, 1, 2
            )
        return images.float().div_(self.max_value), self.labels[index]


class ImageDataModule(pl.LightningDataModule):
    """The shared part of every base dataset: splits, batches and augmentation.

    A subclass only says how to ``load()`` its raw data. The official test split is the
    test set; a stratified, seeded ``val_fraction`` of train is the validation set;
    ``train_size`` (a count) subsamples what remains of train, stratified, for fast runs.
    """

    def __init__(
        self,
        batch_size: Annotated[int, Range(1)] = 128,
        val_fraction: Annotated[float, Range(0.0, 0.9)] = 0.1,
        train_size: Annotated[int, Range(10)] | None = None,
        split_seed: int = 0,
        num_workers: Annotated[int, Range(0)] = 0,
        augmentation: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.batch_size, self.val_fraction, self.train_size = batch_size, val_fraction, train_size
        self.split_seed, self.num_workers, self.augmentation = split_seed, num_workers, augmentation
        self.raw: RawData | None = None

    @abstractmethod
    def load(self) -> RawData:
        """Read the source's images and labels (called once, lazily)."""

    def setup(self, stage: str | None = None) -> None:
        if self.raw is not None:
            return
        raw = self.raw = self.load()
        val_idx, train_idx = stratified_take(raw.train_labels, self.val_fraction, self.split_seed)
        if self.train_size is not None and self.train_size < len(train_idx):
            keep, _ = stratified_take(raw.train_labels[train_idx], self.train_size, self.split_seed)
            train_idx = train_idx[keep]
        images, labels = raw.train_images, raw.train_labels
        self.train = InMemoryImages(
            images[train_idx], labels[train_idx], raw.max_value, self.augmentation
        )
        self.val = InMemoryImages(images[val_idx], labels[val_idx], raw.max_value)
        self.test = InMemoryImages(raw.test_images, raw.test_labels, raw.max_value)

    @property
    def class_names(self) -> list[str]:
        return self._loaded().class_names

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return tuple(self._loaded().train_images.shape[1:])

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
        return dataset.images[index].float().div_(dataset.max_value), dataset.labels[index]
