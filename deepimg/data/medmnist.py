"""MedMNIST v2/v3: standardised 2D biomedical image sets (Yang et al., Scientific Data 2023).

BloodMNIST, for example, holds 17,092 images of 8 types of blood cell. Each subset is one
``.npz`` per image size with keys ``{train,val,test}_{images,labels}``; the official
splits are used as published. ``medmnist_info.json`` beside this file records, per subset,
the task, channels, class names, and each size's download address and MD5 (from the
MedMNIST package's own metadata).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch

from deepimg.config.constraints import ExistingDir
from deepimg.data.datamodule import ImageDataModule
from deepimg.data.download import cache_dir, download
from deepimg.data.raw import RawData
from deepimg.errors import UserError

INFO: dict = json.loads(Path(__file__).with_name("medmnist_info.json").read_text())
Subset = Literal["bloodmnist", "pathmnist", "dermamnist", "octmnist", "pneumoniamnist", "retinamnist",
                 "breastmnist", "tissuemnist", "organamnist", "organcmnist", "organsmnist"]  # fmt: skip
# chestmnist is multi-label (14 findings per image): not a single-label classification task.


def file_names(name: str, size: int) -> list[str]:
    """The names a subset's file goes by: ``bloodmnist.npz`` is the 28-pixel one."""
    return [f"{name}.npz", f"{name}_28.npz"] if size == 28 else [f"{name}_{size}.npz"]


def find_npz(name: str, size: int, root: str | None, fetch: bool = True) -> Path:
    """``root`` when given (an error if the file is not there), else the cache, else a download
    (only when ``fetch``: the other processes of a DDP run read what the first one fetched)."""
    names = file_names(name, size)
    folders = [Path(root).expanduser()] if root is not None else [cache_dir() / "medmnist"]
    for folder in folders:
        for file in names:
            if (folder / file).is_file():
                return folder / file
    if root is not None:
        raise UserError(f"dataset.root '{root}' holds no {' or '.join(names)}")
    if not fetch:
        raise UserError(f"{names[0]} is not in {folders[0]}, and only the first process fetches")
    entry = INFO[name]["files"][str(size)]
    target = cache_dir() / "medmnist" / names[0]
    download(entry["url"], target, f"md5:{entry['md5']}")
    return target


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W) or (N, H, W, C) uint8 -> (N, C, H, W)."""
    array = images[..., None] if images.ndim == 3 else images
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))


class MedMNIST(ImageDataModule):
    """One 2D MedMNIST subset (``name``) at one image ``size``, with its official splits."""

    def __init__(
        self,
        name: Subset = "bloodmnist",
        size: Literal[28, 64, 128, 224] = 28,
        root: Annotated[str, ExistingDir()] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.name, self.size, self.root = name, size, root

    def fetch(self) -> None:
        find_npz(self.name, self.size, self.root)

    def load(self) -> RawData:
        path = find_npz(self.name, self.size, self.root, fetch=False)
        try:
            with np.load(path) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as err:
            raise UserError(f"'{path}' is not a readable MedMNIST .npz ({err})") from None
        missing = [
            f"{s}_{k}"
            for s in ("train", "val", "test")
            for k in ("images", "labels")
            if f"{s}_{k}" not in arrays
        ]
        if missing:
            raise UserError(f"'{path}' lacks {', '.join(missing)}; expected MedMNIST's npz format")
        split = {s: (to_tensor(arrays[f"{s}_images"]), torch.from_numpy(arrays[f"{s}_labels"].reshape(-1)).long())
                 for s in ("train", "val", "test")}  # fmt: skip
        return RawData(
            train_images=split["train"][0], train_labels=split["train"][1],
            val_images=split["val"][0], val_labels=split["val"][1],
            test_images=split["test"][0], test_labels=split["test"][1],
            class_names=list(INFO[self.name]["labels"]),
        )  # fmt: skip
