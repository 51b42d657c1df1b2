"""The presets of Hydra's launchers and sweepers, and each job's share of the CPU cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import submitit
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from deepimg.commands.launchers import cpu_threads
from deepimg.commands.resolvers import register_resolvers
from deepimg.config.compose import conf_dir
from tests.conftest import run_main
from tests.test_cli_errors import assert_one_line_error

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
LOCAL = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"
SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"


@pytest.mark.parametrize(
    ("threads", "launcher", "cores", "expected"),
    [
        (None, {}, 2, None),  # one job at a time: torch's own choice
        (None, {"_target_": JOBLIB, "n_jobs": 2}, 2, 1),
        (None, {"_target_": JOBLIB, "n_jobs": 2}, 16, 8),
        (None, {"_target_": JOBLIB, "n_jobs": -1}, 4, 1),  # joblib's -1: every core
        (None, {"_target_": JOBLIB, "n_jobs": -2}, 4, 1),  # every core but one: 3 jobs
        (None, {"_target_": JOBLIB, "n_jobs": 8}, 2, 1),  # never below one thread
        (3, {"_target_": JOBLIB, "n_jobs": 2}, 2, 3),  # threads= wins
        (None, {"_target_": LOCAL, "cpus_per_task": None}, 2, 1),  # all jobs start at once
        (None, {"_target_": LOCAL, "cpus_per_task": 2}, 16, 2),
        (None, {"_target_": SLURM, "cpus_per_task": 4}, 64, 4),
        (None, {"_target_": SLURM, "cpus_per_task": None}, 64, None),  # SLURM's allocation
    ],
)
def test_each_job_gets_its_share_of_the_cores(
    threads: int | None, launcher: dict, cores: int, expected: int | None
) -> None:
    assert cpu_threads(threads, launcher, cores) == expected


def composed(*overrides: str) -> DictConfig:
    """The full config, Hydra's node included, as a run of ``overrides`` would see it."""
    register_resolvers()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


class Submitted(Exception):
    """Raised in place of calling sbatch: the script has been written by then."""


def test_the_slurm_preset_becomes_these_sbatch_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # submitit looks for srun before it writes anything: a stand-in on PATH, and sbatch
    # itself is never called.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    scripts: list[str] = []

    def sbatch(command) -> None:
        scripts.append(Path(command.command[-1]).read_text())
        raise Submitted

    monkeypatch.setattr(submitit.core.utils.CommandFunction, "__call__", sbatch)
    cfg = composed(
        "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.mem_gb=32",
        f"hydra.sweep.dir={tmp_path / 'sweep'}", "dataset=digits",
    )  # fmt: skip
    HydraConfig.instance().set_config(cfg)
    try:
        launcher = instantiate(cfg.hydra.launcher)
        launcher.config, launcher.task_function, launcher.hydra_context = cfg, print, None
        with pytest.raises(Submitted):
            launcher.launch([["physical_layer.bits=1"]], initial_job_idx=0)
    finally:
        HydraConfig.instance().cfg = None  # no later test in this process sees this job
    options = {line for line in scripts[0].splitlines() if line.startswith("#SBATCH")}
    assert {
        "#SBATCH --partition=gpu",
        "#SBATCH --time=120",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=32GB",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks-per-node=1",
    } <= options, options
    assert "submitit.core._submit" in scripts[0]  # the job runs the pickled run


@pytest.mark.parametrize(
    ("task", "direction"),
    [("classify", "maximize"), ("restore", "maximize"), ("localize", "minimize")],
)
def test_the_search_preset_optimises_the_tasks_validation_objective(
    task: str, direction: str
) -> None:
    cfg = composed("hydra/sweeper=search", f"task={task}")
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper")
    assert sweeper.direction == direction
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler" and sweeper.sampler.seed == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Hydra's bare Optuna config minimizes: on accuracy it would hunt for the worst design.
        (["hydra/sweeper=optuna", "sigma=interval(0.5,2)"], "hydra/sweeper=search"),
        # A searched interval is checked at both ends before any run starts.
        (["hydra/sweeper=search", "sigma=interval(0.5,25)"], "physical_layer.sigma=25.0 is not accepted"),
        # Optuna's range(a,b) includes b, unlike a grid's: b is checked too.
        (["hydra/sweeper=search", "psf_size=range(1,65,2)"], "physical_layer.psf_size=65 is not accepted"),
    ],
)  # fmt: skip
def test_a_search_that_cannot_work_is_one_line(tmp_path: Path, args: list, message: str) -> None:
    result = run_main("train", "dataset=digits", "physical_layer=blur", "-m", *args, cwd=tmp_path)
    assert_one_line_error(result, message)
    assert not (tmp_path / "outputs").exists()
