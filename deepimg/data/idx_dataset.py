"""Datasets published as four IDX files: the MNIST family."""

from __future__ import annotations

from typing import Annotated, ClassVar

from deepimg.config.constraints import ExistingDir
from deepimg.data.datamodule import ImageDataModule
from deepimg.data.download import resolve_files
from deepimg.data.idx import read_idx
from deepimg.data.raw import RawData


class IdxDataModule(ImageDataModule):
    """Train and test images and labels in ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``.

    The files are looked for in ``root`` when given, then in the system folders, then in
    the download cache; failing all, they are downloaded and verified.
    """

    name: ClassVar[str]
    files: ClassVar[dict[str, str]]  # file name -> checksum ("md5:HEX" or "sha256:HEX")
    system_dirs: ClassVar[list[str]] = []
    url: ClassVar[str]
    classes: ClassVar[list[str]]

    def __init__(self, root: Annotated[str, ExistingDir()] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.root = root

    def fetch(self) -> None:
        resolve_files(self.name, self.files, self.root, self.system_dirs, self.url)

    def load(self) -> RawData:
        folder = resolve_files(
            self.name, self.files, self.root, self.system_dirs, self.url, fetch=False
        )
        images = {
            s: read_idx(folder / f"{s}-images-idx3-ubyte.gz").unsqueeze(1)
            for s in ("train", "t10k")
        }
        labels = {
            s: read_idx(folder / f"{s}-labels-idx1-ubyte.gz").long() for s in ("train", "t10k")
        }
        return RawData(
            train_images=images["train"],
            train_labels=labels["train"],
            test_images=images["t10k"],
            test_labels=labels["t10k"],
            class_names=list(self.classes),
        )
