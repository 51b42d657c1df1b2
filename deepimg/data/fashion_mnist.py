"""Fashion-MNIST: 70,000 grayscale 28x28 pictures of clothing in 10 classes (Zalando, 2017)."""

from __future__ import annotations

from typing import Annotated

from deepimg.constraints import ExistingDir
from deepimg.data.datamodule import ImageDataModule, RawData
from deepimg.data.download import resolve_files
from deepimg.data.idx import read_idx

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip

# File name -> SHA-256 of its decompressed content (the same for every re-compression).
FILES = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
SYSTEM_DIRS = ["/usr/share/datasets/fashion-mnist"]  # Debian's package dataset-fashion-mnist
URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"


class FashionMNIST(ImageDataModule):
    """Fashion-MNIST from ``root``, Debian's package, or a verified download into the cache."""

    def __init__(self, root: Annotated[str, ExistingDir()] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = root

    def load(self) -> RawData:
        folder = resolve_files("fashion-mnist", FILES, self.root, SYSTEM_DIRS, URL)
        images = {
            split: read_idx(folder / f"{split}-images-idx3-ubyte.gz") for split in ("train", "t10k")
        }
        labels = {
            split: read_idx(folder / f"{split}-labels-idx1-ubyte.gz") for split in ("train", "t10k")
        }
        return RawData(
            train_images=images["train"].unsqueeze(1),
            train_labels=labels["train"].long(),
            test_images=images["t10k"].unsqueeze(1),
            test_labels=labels["t10k"].long(),
            class_names=CLASS_NAMES,
        )
