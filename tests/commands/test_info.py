"""``deepimg info``: bits per pixel of each design of a sweep, which ``deepimg report`` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli, run_main

DIGITS = ["dataset=digits", "physical_layer=noise"]


@pytest.mark.slow  # a new deepimg process and a report: about 15 s on 2 cores
def test_a_sweep_of_three_photon_budgets_gives_rising_bits_that_report_reads(
    tmp_path: Path,
) -> None:
    result = run_cli(
        "info", *DIGITS, "physical_layer.photons=30,300,3000", "hydra.sweep.dir=sweep", "-m",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    runs = [
        json.loads((tmp_path / "sweep" / str(k) / "metrics.json").read_text()) for k in range(3)
    ]
    bits = [m["info/bits_per_pixel"] for m in runs]
    assert bits[0] < bits[1] < bits[2]  # more photons, more bits
    assert all(
        m["info/bits_per_pixel_low"] <= m["info/bits_per_pixel"] <= m["info/bits_per_pixel_high"]
        for m in runs
    )
    assert "bits per pixel" in result.stdout
    report = run_main("report", str(tmp_path / "sweep"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "sweep" / "report" / "summary.csv")
    assert len(summary) == 3 and "info/bits_per_pixel" in " ".join(summary.columns)
    answer = (tmp_path / "sweep" / "report" / "summary.md").read_text().splitlines()[0]
    assert "photons=3000" in answer and "nan" not in answer  # each run's own CI, one seed


def test_one_run_that_estimated_its_own_ci_shows_it() -> None:
    from deepimg.analysis.comparisons import numeric

    runs = pd.DataFrame({
        "photons": [10, 100], "info/bits_per_pixel": [1.0, 2.0],
        "info/bits_per_pixel_low": [0.9, 1.8], "info/bits_per_pixel_high": [1.1, 2.2],
        "status": ["completed"] * 2, "run": ["sweep/0", "sweep/1"],
    })  # fmt: skip
    rows = numeric(runs, "photons", ["photons"], ["info/bits_per_pixel"], {}, set(), None)
    assert [(r["mean"], r["low"], r["high"]) for r in rows] == [(1.0, 0.9, 1.1), (2.0, 1.8, 2.2)]


def test_a_layer_without_noise_is_refused_in_one_line(tmp_path: Path) -> None:
    result = run_main(
        "info", "dataset=digits", "physical_layer=quantize", "hydra.run.dir=run", cwd=tmp_path
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no noise model" in lines[0] and "physical_layer=noise" in lines[0]


def test_measurements_too_small_for_patches_are_refused_in_one_line(tmp_path: Path) -> None:
    result = run_main(
        "info", "dataset=digits", "physical_layer=sensor", "pixels=2", "hydra.run.dir=run",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-1500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "2x2 pixels are too small" in lines[0]
    assert "Traceback" not in result.stderr


def test_one_bit_pixels_are_counted_and_more_photons_give_more_bits(tmp_path: Path) -> None:
    result = run_main(
        "info", "dataset=digits", "physical_layer=single_photon", "photons=1,16",
        "hydra.sweep.dir=sweep", "-m", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-1500:]
    assert "deepimg info: a sweep of 2 runs" in result.stdout  # its own name, not train's
    runs = [json.loads((tmp_path / "sweep" / n / "metrics.json").read_text()) for n in "01"]
    assert all("1-bit patterns" in m["info/model"] for m in runs)
    assert 0 < runs[0]["info/bits_per_pixel"] < runs[1]["info/bits_per_pixel"] <= 1


def test_help_names_the_estimate_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    from deepimg.cli import main

    main(["info", "--help"])
    out = capsys.readouterr().out
    assert "bits per pixel" in out.lower() and "deepimg info physical_layer=noise" in out


@pytest.mark.slow  # a new deepimg process that trains: about 8 s
def test_a_trained_run_with_a_noise_model_records_its_bits_per_pixel(tmp_path: Path) -> None:
    from tests.conftest import QUICK

    result = run_cli(
        "train", *DIGITS, "physical_layer.photons=100", "analysis=none", *QUICK,
        "hydra.run.dir=run", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and "test/acc" in metrics
    low, bits, high = (metrics[f"info/bits_per_pixel{e}"] for e in ("_low", "", "_high"))
    assert 0 < low <= bits <= high


def test_a_received_runs_malformed_ci_counts_as_unknown() -> None:
    """metrics.json is from outside: a CI end that is no number is NaN, not a crash."""
    from deepimg.analysis.comparisons import numeric
    from deepimg.analysis.sweep_tables import finished_runs

    table = pd.DataFrame({
        "photons": [10, 100], "info/bits_per_pixel": [1.0, 2.0],
        "info/bits_per_pixel_low": ["abc", 1.8], "info/bits_per_pixel_high": [[1, 2], 2.2],
        "status": ["completed"] * 2, "run": ["sweep/0", "sweep/1"],
    })  # fmt: skip
    done = finished_runs(table, ["info/bits_per_pixel"])
    rows = numeric(done, "photons", ["photons"], ["info/bits_per_pixel"], {}, set(), None)
    assert (rows[1]["low"], rows[1]["high"]) == (1.8, 2.2)
    assert rows[0]["mean"] == 1.0  # its own CI unknown: the seed-mean rule (one seed: none)
