"""Fixtures that the tests of several tasks share."""

from __future__ import annotations

import pytest

from deepimg.config import compose as config
from deepimg.training.build import build_datamodule


@pytest.fixture(scope="module")
def patches_data():
    """Real colour patches (16 x 16, few of them) from scikit-image's photographs."""
    cfg = config.compose(
        ["dataset=patches", "dataset.patch=16", "dataset.train_patches=64",
         "dataset.val_patches=16", "dataset.test_patches=16"]
    )  # fmt: skip
    return build_datamodule(cfg)


@pytest.fixture(scope="module")
def colour_canvas():
    cfg = config.compose(
        ["dataset=patches", "dataset.patch=16", "dataset.train_patches=64", "dataset.val_patches=16",
         "dataset.test_patches=16", "dataset.canvas=24"]
    )  # fmt: skip
    return build_datamodule(cfg)
