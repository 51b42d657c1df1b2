"""The model zoo through the CLI, tiny (scikit-learn's digits, 1 epoch): a sweep over
networks, and an ensemble of a 3-seed sweep with test-time augmentation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.conftest import QUICK, run_cli
from tests.test_cli_errors import assert_one_line_error

pytestmark = pytest.mark.slow  # new processes, real training

TINY = ["dataset=digits", "analysis=none", *QUICK]


def test_a_sweep_over_networks_reports_one_row_each(tmp_path: Path) -> None:
    sweep = tmp_path / "nets"
    result = run_cli(
        "train", *TINY, "model=lenet,resnet,densenet", f"hydra.sweep.dir={sweep}", "-m",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    params = [json.loads((sweep / j / "metrics.json").read_text())["n_params"] for j in "012"]
    assert params[0] == 21_386 and len(set(params)) == 3  # LeNet-5 on 8x8 digits; all differ
    assert run_cli("report", str(sweep), cwd=tmp_path).returncode == 0
    summary = pd.read_csv(sweep / "report" / "summary.csv")
    assert sorted(summary["model"]) == ["densenet", "lenet", "resnet"]


def test_an_ensemble_of_a_seed_sweep_with_tta(tmp_path: Path) -> None:
    sweep = tmp_path / "seeds"
    result = run_cli(
        "train", *TINY, "model=lenet", "seed=0,1,2", f"hydra.sweep.dir={sweep}", "-m", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_cli("eval", f"ckpt={sweep}", "tta=flip", "hydra.run.dir=ens", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    assert metrics["members"] == 3
    for key in ("test/acc", "test/acc_tta", "member0/test/acc", "member2/test/acc_tta"):
        assert 0 <= metrics[key] <= 1, key
    assert "test/acc_tta" in metrics["task_metrics"]  # so the report shows both
    header = next(line for line in result.stdout.splitlines() if "ensemble" in line and "┃" in line)
    assert all(name in header for name in ("0", "1", "2"))

    other = tmp_path / "two_bits"
    run = run_cli("train", *TINY, "model=lenet", "bits=2", f"hydra.run.dir={other}", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    mixed = f"ckpt={sweep}/0/checkpoints/best.ckpt,{other}/checkpoints/best.ckpt"
    assert_one_line_error(
        run_cli("eval", mixed, cwd=tmp_path), "must share the task, the dataset and the physical"
    )


def test_transfer_learning_from_one_run_to_another(tmp_path: Path) -> None:
    source = tmp_path / "source"
    assert run_cli("train", *TINY, f"hydra.run.dir={source}", cwd=tmp_path).returncode == 0
    result = run_cli(
        "train", *TINY, f"init_from={source}/checkpoints/best.ckpt", "freeze=features",
        "head_lr=0.01", "dataset.train_size=200", "hydra.run.dir=tuned", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded 14 network tensors, skipped 2 (head.5.weight (the head is new)" in result.stdout
    assert "freeze=features: 18912 parameters frozen" in result.stdout
    tuned = torch.load(tmp_path / "tuned/checkpoints/best.ckpt", weights_only=True)["state_dict"]
    first = torch.load(source / "checkpoints/best.ckpt", weights_only=True)["state_dict"]
    assert torch.equal(tuned["network.features.0.weight"], first["network.features.0.weight"])
    assert not torch.equal(tuned["network.head.2.weight"], first["network.head.2.weight"])
