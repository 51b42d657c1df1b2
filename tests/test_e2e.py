"""The whole user journey on a small real subset: a 2-point bits sweep, its report, and eval."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import QUICK, run_cli

pytestmark = pytest.mark.slow  # new processes, real training


@pytest.fixture(scope="module")
def sweep(fmnist_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    workdir = tmp_path_factory.mktemp("work")
    result = run_cli(
        "train", "physical_layer=quantize", "bits=1..2", f"dataset.root={fmnist_root}", *QUICK,
        cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    sweeps = list((workdir / "outputs" / "multirun").glob("*/*"))
    assert len(sweeps) == 1, sweeps
    return workdir, sweeps[0]


def test_the_sweep_makes_one_run_per_bit_depth(sweep: tuple[Path, Path]) -> None:
    _, folder = sweep
    runs = sorted(p for p in folder.iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["0", "1"]
    for bits, run in zip((1, 2), runs, strict=True):
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["status"] == "completed" and metrics["epochs"] == 1
        assert {
            "test/acc",
            "test/f1",
            "test/auroc",
            "val/acc_best",
            "train_time_s",
            "n_params",
        } <= set(metrics)
        assert 0.3 < metrics["test/acc"] <= 1.0  # 10 classes: well above chance after one epoch
        assert (run / "checkpoints" / "best.ckpt").is_file()
        assert (run / "metrics.csv").is_file()
        assert (run / "physics" / "examples.png").stat().st_size > 1000
        assert f"physical_layer.bits={bits}" in (run / ".hydra" / "overrides.yaml").read_text()


def test_the_report_has_two_rows_and_a_plot(sweep: tuple[Path, Path]) -> None:
    workdir, folder = sweep
    result = run_cli("report", str(folder), cwd=workdir)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(folder / "report" / "summary.csv")
    assert summary["bits"].tolist() == [1, 2]
    assert (folder / "report" / "test_acc_vs_bits.png").stat().st_size > 1000
    assert "bits" in (folder / "report" / "summary.md").read_text()
    assert "test/acc" in result.stdout


def test_eval_of_the_best_checkpoint_reproduces_the_test_accuracy(sweep: tuple[Path, Path]) -> None:
    workdir, folder = sweep
    runs = [folder / "0", folder / "1"]
    accs = [json.loads((r / "metrics.json").read_text())["test/acc"] for r in runs]
    best = runs[accs.index(max(accs))]
    result = run_cli("eval", f"ckpt={best / 'checkpoints' / 'best.ckpt'}", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    evals = [p for p in (workdir / "outputs").glob("*/*") if p.parent.name != "multirun"]
    assert len(evals) == 1
    assert json.loads((evals[0] / "metrics.json").read_text())["test/acc"] == pytest.approx(
        max(accs), abs=1e-6
    )


def test_eval_under_another_sensor_changes_the_result(sweep: tuple[Path, Path]) -> None:
    workdir, folder = sweep
    ckpt = folder / "1" / "checkpoints" / "best.ckpt"  # trained on a 2-bit sensor
    trained = json.loads((folder / "1" / "metrics.json").read_text())["test/acc"]
    result = run_cli("eval", f"ckpt={ckpt}", "bits=8", "hydra.run.dir=eval8", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    retested = json.loads((workdir / "eval8" / "metrics.json").read_text())
    assert retested["overrides"] == "bits=8"
    assert retested["test/acc"] != pytest.approx(trained, abs=1e-6)


def test_learned_gain_is_trained_and_saved_as_a_picture(fmnist_root: Path, tmp_path: Path) -> None:
    result = run_cli(
        "train", "bits=1", "physical_layer.learnable=true", f"dataset.root={fmnist_root}",
        "dataset.train_size=500", *QUICK, "hydra.run.dir=run", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    import numpy as np

    gain = np.load(tmp_path / "run" / "physics" / "gain.npy")
    assert gain.shape == (1, 28, 28) and (gain > 0).all()
    assert not np.allclose(gain, 1.0)  # it moved away from its initial value
    assert (tmp_path / "run" / "physics" / "gain.png").stat().st_size > 1000


def test_a_learned_psf_retested_with_learnable_false_is_the_learned_psf(tmp_path: Path) -> None:
    """``eval ... learnable=false`` tests the learned design frozen, not the initial Gaussian."""
    import numpy as np

    result = run_cli(
        "train", "dataset=digits", "physical_layer=blur", "sigma=1.5", "learnable=true",
        "physics_lr=0.05", *QUICK, "hydra.run.dir=run", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    learned = np.load(tmp_path / "run" / "physics" / "psf.npy")
    ckpt = tmp_path / "run" / "checkpoints" / "best.ckpt"
    result = run_cli(
        "eval", f"ckpt={ckpt}", "learnable=false", "hydra.run.dir=frozen", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "testing the learned design of physics.psf as it is, frozen" in result.stderr
    frozen = np.load(tmp_path / "frozen" / "physics" / "psf.npy")
    from deepimg.physics.psf import gaussian

    assert np.array_equal(frozen, learned)
    assert not np.allclose(learned, gaussian(1.5).numpy(), atol=1e-4)  # it did learn
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())
    retested = json.loads((tmp_path / "frozen" / "metrics.json").read_text())
    assert retested["test/acc"] == pytest.approx(trained["test/acc"], abs=1e-9)
