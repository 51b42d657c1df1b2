"""The logger group's checks and the pictures it sends (the trackers themselves are read back
in tests/test_many_runs.py)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from deepimg.config.compose import compose
from deepimg.errors import UserError
from deepimg.training import loggers
from deepimg.training.loggers import as_image, check_trackers


@pytest.mark.parametrize("option", ["csv", "tensorboard", "mlflow", "wandb", "many"])
def test_every_logger_option_keeps_the_csv_logger(option: str) -> None:
    chosen = compose([f"logger={option}"]).logger
    assert chosen.csv._target_ == "pytorch_lightning.loggers.CSVLogger"
    check_trackers(compose([f"logger={option}"]))  # all installed by make install


def test_a_list_of_loggers_composes_them_all() -> None:
    assert set(compose(["logger=[tensorboard,mlflow]"]).logger) == {"csv", "tensorboard", "mlflow"}


def test_a_tracker_whose_package_is_missing_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        loggers.importlib.util, "find_spec", lambda name: None if name == "wandb" else real(name)
    )
    with pytest.raises(UserError, match=r"logger=wandb needs the wandb package.*deepimg\[track\]"):
        check_trackers(compose(["logger=many"]))


def test_dropping_the_csv_logger_is_refused() -> None:
    with pytest.raises(UserError, match="must keep its csv entry"):
        check_trackers(compose(["logger=tensorboard", "~logger.csv"]))


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((5, 5), (1, 5, 5)), ((1, 4, 4), (1, 4, 4)), ((3, 4, 4), (3, 4, 4)), ((4, 2, 3), (1, 2, 12))],
)
def test_a_physical_map_becomes_a_picture_in_0_to_1(shape: tuple, expected: tuple) -> None:
    picture = as_image(torch.randn(shape) * 7 + 3)
    assert picture.shape == expected  # gray, RGB, or channels side by side
    assert picture.min() == 0 and picture.max() == 1
    assert as_image(torch.full((3, 3), 2.0)).eq(0).all()  # a flat map: no division by zero
