"""Restoration, the whole journey on real data (scikit-learn's digits): a 2-point deblurring
sweep, its report with PSNR columns and plots, and eval reproducing the test PSNR."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import QUICK, run_cli

pytestmark = pytest.mark.slow  # new processes, real training

SMALL_NET = ["model=dncnn", "model.depth=4", "model.channels=16"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    workdir = tmp_path_factory.mktemp("restore")
    result = run_cli(
        "train", "task=restore", "dataset=digits", "physical_layer=blur", "sigma=1,2", "-m",
        *SMALL_NET, *QUICK, cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = (workdir / "outputs" / "multirun").glob("*/*")
    return workdir, folder


def test_the_sweep_makes_two_runs_with_psnr_and_its_baseline(sweep: tuple[Path, Path]) -> None:
    _, folder = sweep
    for run in (folder / "0", folder / "1"):
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["task"] == "restore" and metrics["objective"] == "val/psnr_best"
        assert {"test/psnr", "test/ssim", "test/mse", "test/psnr_baseline",
                "test/ssim_baseline", "val/psnr_best"} <= set(metrics)  # fmt: skip
        assert 5 < metrics["test/psnr_baseline"] < 60 and 0 < metrics["test/ssim"] <= 1
        for figure in ("restore_examples.png", "psnr_histogram.png", "learning_curves.png"):
            assert (run / "analysis" / figure).stat().st_size > 1000
        assert "restore_examples.png" in (run / "index.html").read_text()
    blur1, blur2 = (json.loads((folder / r / "metrics.json").read_text()) for r in ("0", "1"))
    assert blur2["test/psnr_baseline"] < blur1["test/psnr_baseline"]  # more blur, worse estimate


def test_the_report_has_psnr_columns_and_plots(sweep: tuple[Path, Path]) -> None:
    workdir, folder = sweep
    result = run_cli("report", str(folder), cwd=workdir)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(folder / "report" / "summary.csv")
    assert summary["sigma"].tolist() == [1, 2]
    assert {"test/psnr", "test/ssim", "test/psnr_baseline"} <= set(summary.columns)
    assert "test/acc" not in summary.columns
    assert (folder / "report" / "test_psnr_vs_sigma.png").stat().st_size > 1000


def test_eval_of_the_best_checkpoint_reproduces_the_test_psnr(sweep: tuple[Path, Path]) -> None:
    workdir, folder = sweep
    trained = json.loads((folder / "0" / "metrics.json").read_text())
    ckpt = folder / "0" / "checkpoints" / "best.ckpt"
    result = run_cli("eval", f"ckpt={ckpt}", "hydra.run.dir=retest", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    retested = json.loads((workdir / "retest" / "metrics.json").read_text())
    assert retested["test/psnr"] == pytest.approx(trained["test/psnr"], abs=1e-4)
    assert retested["test/psnr_baseline"] == pytest.approx(trained["test/psnr_baseline"], abs=1e-4)
    # re-tested under a stronger blur, the same network restores less well
    result = run_cli("eval", f"ckpt={ckpt}", "sigma=2", "hydra.run.dir=retest2", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    harder = json.loads((workdir / "retest2" / "metrics.json").read_text())
    assert harder["test/psnr"] < trained["test/psnr"]


def test_a_model_that_does_not_fit_the_task_is_refused_before_any_run_folder(tmp_path) -> None:
    result = run_cli("train", "task=restore", "model=cnn", "dataset=digits", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "deepimg train: error: model=cnn does not fit task=restore (it needs a map); "
        "models that fit: dncnn, locally_connected, unet"
    ]
    assert not (tmp_path / "outputs").exists()
