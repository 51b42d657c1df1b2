"""Scenes of K fluorophores made from real grayscale scenes: one concentration map a channel."""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

from deepimg.data.raw import RawData

FluorophoreScenes = Literal["mixture", "one"]


def stack_channels(images: torch.Tensor, labels: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """``(N, K, H, W)``: channel 0 holds each image, channels 1..K-1 other images of the same
    split, drawn by seeded permutations (so K different objects overlap in every scene)."""
    generator = torch.Generator().manual_seed(seed)
    others = [images[torch.randperm(len(labels), generator=generator)] for _ in range(k - 1)]
    return torch.cat([images, *others], dim=1)


def one_channel(images: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, K, H, W)`` scenes with each image in one seeded channel, zeros in the others,
    and that channel as the label."""
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(0, k, (len(images),), generator=generator)
    scenes = torch.zeros(len(images), k, *images.shape[-2:], dtype=images.dtype)
    scenes[torch.arange(len(images)), which] = images[:, 0]
    return scenes, which


def fluorophore_data(raw: RawData, k: int, mode: FluorophoreScenes, seed: int) -> RawData:
    """The raw data as scenes of ``k`` fluorophores (``physical_layer=fluorescence``).

    A grayscale image is the concentration map of one fluorophore (relative, 0..1 at full
    scale). ``mixture``: every scene holds ``k`` real images, one per fluorophore, for
    unmixing (``task=restore`` recovers the ``k`` maps); the labels stay those of channel 0.
    ``one``: every scene holds one image, in the channel of one fluorophore drawn per scene,
    and the label is that fluorophore (``task=classify`` names which one is present). The
    draws are seeded per split, so every run sees the same scenes.
    """
    if raw.train_images.shape[1] != 1:
        raise ValueError(
            f"dataset.fluorophores needs a grayscale dataset (each image one fluorophore's "
            f"concentration), got {raw.train_images.shape[1]} channels; choose dataset="
            "fashion_mnist, mnist, digits or a grayscale folder"
        )
    if raw.train_masks is not None:
        raise ValueError("dataset.fluorophores does not take a segmentation folder")
    splits = {}
    for n, split in enumerate(("train", "val", "test")):
        images, labels = getattr(raw, f"{split}_images"), getattr(raw, f"{split}_labels")
        if images is None:
            splits[split] = (None, None)
        elif mode == "mixture":
            splits[split] = (stack_channels(images, labels, k, seed * 3 + n), labels)
        else:
            splits[split] = one_channel(images, k, seed * 3 + n)
    names = raw.class_names if mode == "mixture" else [f"fluorophore {i}" for i in range(k)]
    return dataclasses.replace(
        raw, class_names=names,
        train_images=splits["train"][0], train_labels=splits["train"][1],
        val_images=splits["val"][0], val_labels=splits["val"][1],
        test_images=splits["test"][0], test_labels=splits["test"][1],
    )  # fmt: skip
