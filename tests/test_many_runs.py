"""Many runs: sweeps run side by side (joblib) or as submitit jobs, a search with Optuna,
and the experiment trackers, all read back with the trackers' own readers. Tiny on purpose:
8x8 digits, one or two epochs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import QUICK, run_cli

pytestmark = pytest.mark.slow  # new processes, real training

TINY = ["dataset=digits", "analysis=none", *QUICK]
# the values of metrics.json that may differ between two runs
TIMING = {"train_time_s", "test_time_s"}


def sweep(tmp_path: Path, name: str, *args: str) -> Path:
    """``deepimg train`` of the tiny config with ``args`` into ``tmp_path/name``; it must succeed."""
    result = run_cli("train", *TINY, *args, f"hydra.sweep.dir={name}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / name


def metrics_of(sweep: Path) -> dict[str, dict]:
    return {
        run.name: json.loads((run / "metrics.json").read_text())
        for run in sorted(sweep.iterdir())
        if (run / "metrics.json").is_file()
    }


GRID = ["seed=3", "physical_layer=quantize", "bits=1,2,3,4", "-m"]
THREADS = max(1, len(os.sched_getaffinity(0)) // 2)  # each of two parallel runs' share


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The grid run one job at a time, with the threads each parallel run gets."""
    return metrics_of(sweep(tmp_path_factory.mktemp("one"), "sweep", *GRID, f"threads={THREADS}"))


def assert_same_metrics(runs: dict[str, dict], expected: dict[str, dict]) -> None:
    assert sorted(runs) == sorted(expected) == ["0", "1", "2", "3"]
    for name, metrics in runs.items():
        assert metrics["status"] == "completed" and metrics["threads"] == THREADS
        for key, value in metrics.items():
            if key not in TIMING:
                assert expected[name][key] == value, (name, key)


def test_two_joblib_workers_give_exactly_the_sequential_metrics(
    tmp_path: Path, sequential: dict[str, dict]
) -> None:
    parallel = sweep(tmp_path, "sweep", *GRID, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert_same_metrics(metrics_of(parallel), sequential)


def test_submitit_jobs_give_the_sequential_metrics_and_a_report(
    tmp_path: Path, sequential: dict[str, dict]
) -> None:
    folder = sweep(
        tmp_path, "sweep", *GRID, "hydra/launcher=submitit_local",
        f"hydra.launcher.cpus_per_task={THREADS}",
    )  # fmt: skip
    assert list((folder / ".submitit").iterdir())  # the jobs ran through submitit
    assert_same_metrics(metrics_of(folder), sequential)
    for run in ("0", "3"):  # what each job needed travelled with it
        saved = yaml.safe_load((folder / run / ".hydra" / "config.yaml").read_text())
        assert saved["seed"] == 3 and saved["dataset"]["_target_"].endswith("Digits")
    report = run_cli("report", str(folder), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    assert pd.read_csv(folder / "report" / "summary.csv")["bits"].tolist() == [1, 2, 3, 4]


def test_a_search_optimises_the_validation_metric_and_reports_its_trials(tmp_path: Path) -> None:
    search = sweep(
        tmp_path, "search", "-m", "hydra/sweeper=search", "hydra.sweeper.n_trials=3",
        "physical_layer=blur", "sigma=interval(0.5,3)", "optimizer.lr=choice(0.002,0.01)",
    )  # fmt: skip
    trials = metrics_of(search)
    assert sorted(trials) == ["0", "1", "2"]
    best = yaml.safe_load((search / "optimization_results.yaml").read_text())
    validation = [m["val/acc_best"] for m in trials.values()]
    # What Optuna saw is the best validation accuracy, never a test accuracy.
    assert best["best_value"] == max(validation)
    assert set(best["best_params"]) == {"physical_layer.sigma", "optimizer.lr"}
    assert 0.5 <= best["best_params"]["physical_layer.sigma"] <= 3
    assert all(m["objective"] == "val/acc_best" for m in trials.values())

    report = run_cli("report", str(search), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    summary = pd.read_csv(search / "report" / "summary.csv")
    assert summary["trial"].tolist() == [0, 1, 2]  # one row per trial
    assert summary["val/acc_best"].tolist() == validation
    for name in ("trial", "sigma", "lr"):
        figure = search / "report" / f"search_val_acc_best_vs_{name}.png"
        assert figure.stat().st_size > 1000, figure


def test_the_trackers_hold_one_run_per_job(tmp_path: Path) -> None:
    folder = sweep(
        tmp_path, "sweep", "trainer.max_epochs=2", "physical_layer=blur", "sigma=1,2", "-m",
        "logger=many",
    )  # fmt: skip
    runs = [folder / "0", folder / "1"]
    for run in runs:
        assert (run / "metrics.csv").is_file()  # the CSV logger is always kept
    check_tensorboard(runs)
    check_mlflow(tmp_path / "outputs" / "mlflow.db", runs)
    check_wandb(runs)


def check_tensorboard(runs: list[Path]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for run in runs:
        events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0})
        events.Reload()
        assert len(events.Scalars("val/acc")) == 2  # one value per epoch
        assert len(events.Images("physics/psf")) == 2  # the blur's PSF, pictured each epoch
        assert events.Scalars("test/acc")[-1].value == pytest.approx(
            json.loads((run / "metrics.json").read_text())["test/acc"]
        )


def check_mlflow(store: Path, runs: list[Path]) -> None:
    """The default store is a SQLite database, readable without MLflow 3's file-store opt-in."""
    from mlflow.tracking import MlflowClient

    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    client = MlflowClient(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("sweep")  # the sweep's folder names it
    found = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in found) == ["sweep/0", "sweep/1"]
    for tracked in found:
        run = runs[int(tracked.info.run_name[-1])]
        saved = json.loads((run / "metrics.json").read_text())
        assert tracked.data.params["physical_layer.sigma"] == str(1 + int(run.name))
        assert tracked.data.params["run_dir"] == str(run)  # each run's own config, no other
        assert tracked.data.metrics["test/acc"] == pytest.approx(saved["test/acc"])
        assert tracked.data.metrics["val/acc_best"] == pytest.approx(saved["val/acc_best"])
        assert tracked.info.status == "FINISHED"


def check_wandb(runs: list[Path]) -> None:
    # wandb.finish() after each job: every run has its own offline run, none is shared.
    offline = [list((run / "wandb").glob("offline-run-*")) for run in runs]
    assert [len(found) for found in offline] == [1, 1]
    assert all(list(found[0].glob("*.wandb")) for found in offline)
