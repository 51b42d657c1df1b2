"""Learning curves of any run: the logger's rows gathered by epoch, and the diagnosis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepimg.analysis.learning_curves import diagnose, learning_history


def test_learning_history_gathers_the_loggers_rows_by_epoch(tmp_path: Path) -> None:
    """The CSV logger's layout: step rows, then a val row and a train row per epoch, then test."""
    csv = tmp_path / "metrics.csv"
    csv.write_text(
        "epoch,step,test/acc,train/acc,train/loss,train/loss_step,val/acc,val/loss\n"
        "0,49,,,,2.3,,\n"
        "0,99,,,,0.9,,\n"
        "0,99,,,,,0.80,0.55\n"
        "0,99,,0.75,0.70,,,\n"
        "1,199,,,,0.4,,\n"
        "1,199,,,,,0.85,0.45\n"
        "1,199,,0.86,0.40,,,\n"
        "2,200,0.84,,,,,\n"
    )
    history = learning_history(csv, "acc")
    assert history["epoch"].tolist() == [1, 2]
    assert history["val/loss"].tolist() == [0.55, 0.45]
    assert history["train/loss"].tolist() == [0.70, 0.40]
    assert history["train/acc"].tolist() == [0.75, 0.86]


def history(val_loss: list[float], train_loss: list[float]):
    import pandas as pd

    n = len(val_loss)
    return pd.DataFrame(
        {
            "epoch": range(1, n + 1),
            "train/loss": train_loss,
            "val/loss": val_loss,
            "train/acc": np.linspace(0.5, 0.9, n),
            "val/acc": np.linspace(0.5, 0.85, n),
        }
    )


@pytest.mark.parametrize(
    ("val", "train", "expected"),
    [
        ([1.0, 0.6, 0.5, 0.55, 0.7], [1.0, 0.6, 0.4, 0.3, 0.2], "overfitting from epoch 3"),
        ([1.0, 0.8, 0.6], [1.1, 0.8, 0.6], "underfitting"),
        ([1.0, 0.5, 0.49, 0.495], [1.0, 0.5, 0.45, 0.44], "good fit"),
        ([1.0, 0.5, 0.9], [1.0, 0.5, 0.9], "unstable"),
        ([0.7], [0.8], "one epoch only"),
    ],
)
def test_the_diagnosis_reads_the_curves(val: list, train: list, expected: str) -> None:
    assert diagnose(history(val, train), "acc").startswith(expected)


def test_a_good_fit_names_the_gap_of_the_tasks_own_metric() -> None:
    assert diagnose(history([1.0, 0.5, 0.49, 0.495], [1.0, 0.5, 0.45, 0.44]), "acc").endswith(
        "train-val acc gap +0.050"
    )
    assert "gap" not in diagnose(history([1.0, 0.5, 0.49, 0.495], [1.0, 0.5, 0.45, 0.44]), "psnr")
