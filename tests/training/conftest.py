"""Fixtures that several tests of training share."""

from __future__ import annotations

import pytest

from deepimg.config import compose as config
from deepimg.training.build import build_datamodule, build_module


@pytest.fixture(scope="module")
def digits():
    cfg = config.compose(["dataset=digits", "model=lenet", "tta=flip_shift"])
    data = build_datamodule(cfg)
    module = build_module(cfg, data).eval()
    scenes = next(iter(data.test_dataloader()))[0]
    return cfg, data, module, scenes
