"""The command line's help and Hydra pass-through (no training)."""

from __future__ import annotations

from pathlib import Path

from deepimg.config import compose as config
from tests.conftest import run_cli


def test_top_level_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert all(c in result.stdout for c in ("train", "eval", "report"))


def test_train_help_lists_every_group_and_option(tmp_path: Path) -> None:
    result = run_cli("train", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for group, options in config.groups().items():
        line = next(x for x in result.stdout.splitlines() if x.startswith(f"{group}:"))
        assert all(option in line for option in options), line
    assert "A..B" in result.stdout and not (tmp_path / "outputs").exists()


def test_eval_and_report_have_help(tmp_path: Path) -> None:
    assert "ckpt=PATH" in run_cli("eval", "--help", cwd=tmp_path).stdout
    assert "summary.csv" in run_cli("report", "--help", cwd=tmp_path).stdout


def test_cfg_job_prints_the_composed_config_with_shorthands_applied(tmp_path: Path) -> None:
    result = run_cli("train", "bits=3", "lr=0.01", "+extra=1", "--cfg", "job", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "bits: 3" in result.stdout and "lr: 0.01" in result.stdout and "extra: 1" in result.stdout
    )
    assert not (tmp_path / "outputs").exists()  # printing a config starts no run
