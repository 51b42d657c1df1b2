"""scikit-learn's digits: 1,797 8x8 handwritten digits, bundled offline (Alpaydin & Kaynak, 1998)."""

from __future__ import annotations

import torch

from deepimg.data.datamodule import ImageDataModule
from deepimg.data.raw import RawData


class Digits(ImageDataModule):
    """The UCI optical digits as scikit-learn ships them: instant, for demos and smoke tests.

    Pixels are counts of 0..16 (a 4x4 block of a 32x32 bitmap), so the native depth is
    about 4 bits. There is no official test split: ``test_fraction`` is held out.
    """

    def load(self) -> RawData:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.from_numpy(digits.images.astype("uint8")).unsqueeze(1)
        return RawData(
            train_images=images,
            train_labels=torch.from_numpy(digits.target).long(),
            class_names=[str(d) for d in digits.target_names],
            max_value=16,
        )
