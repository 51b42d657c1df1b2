"""The new hardware from the command line, tiny (digits, 1 epoch): several cameras, learned
pixel sizes, a free-form lens and fluorophores through filters, each with its pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import QUICK, run_cli

pytestmark = pytest.mark.slow  # new processes, real training


def train(tmp_path: Path, *args: str) -> tuple[dict, Path]:
    result = run_cli("train", "dataset=digits", *args, *QUICK, "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "run"
    return json.loads((run / "metrics.json").read_text()), run


def test_learned_camera_offsets_train_and_show_their_grids(tmp_path: Path) -> None:
    metrics, run = train(tmp_path, "physical_layer=cameras", "cameras=4", "camera_pixels=4",
                         "learnable=true", "physics_lr=0.05")  # fmt: skip
    assert metrics["status"] == "completed" and metrics["test/acc"] > 0.3
    offsets = np.load(run / "physics" / "camera_offsets.npy")
    assert offsets.shape == (4, 2) and np.abs(offsets).max() <= 0.5
    assert not np.allclose(np.abs(offsets), 0.25)  # they moved from the grid
    assert (run / "physics" / "camera_grids.png").stat().st_size > 5000


def test_learned_pixel_sizes_train_and_show_their_edges(tmp_path: Path) -> None:
    metrics, run = train(tmp_path, "physical_layer=pixel_layout", "pixels=4", "fovea=0",
                         "learnable=true", "physics_lr=0.05")  # fmt: skip
    assert metrics["status"] == "completed"
    area = np.load(run / "physics" / "pixel_area.npy")
    assert not np.allclose(area, 4.0)  # no longer the uniform 2x2 scene pixels a pixel
    assert (run / "physics" / "pixel_edges.png").stat().st_size > 5000


def test_a_free_form_lens_learns_its_phase(tmp_path: Path) -> None:
    metrics, run = train(tmp_path, "physical_layer=pupil", "pupil_phase=free", "airy_radius=1.5",
                         "psf_size=5", "defocus=0.1", "learnable=true", "physics_lr=0.05")  # fmt: skip
    assert metrics["status"] == "completed"
    phase = np.load(run / "physics" / "wavefront.npy")
    assert phase.shape == (64, 64)
    psf = np.load(run / "physics" / "psf.npy")
    assert psf.shape == (5, 5) and psf.sum() == pytest.approx(1, abs=1e-5)
    assert (run / "physics" / "wavefront.png").is_file()


@pytest.mark.parametrize(("task", "metric"), [("restore", "test/psnr"), ("classify", "test/acc")])
def test_fluorophores_are_unmixed_or_named_through_filters(
    tmp_path: Path, task: str, metric: str
) -> None:
    scenes = "mixture" if task == "restore" else "one"
    metrics, run = train(tmp_path, f"task={task}", "dataset.fluorophores=3",
                         f"dataset.fluorophore_scenes={scenes}", "physical_layer=fluorescence",
                         "learnable=true")  # fmt: skip
    assert metrics["status"] == "completed" and metric in metrics
    if task == "classify":
        assert metrics["test/acc"] > 0.5  # three fluorophores: chance is 1/3
    else:
        assert metrics["test/psnr"] > metrics["test/psnr_baseline"] - 3
    assert (run / "physics" / "filters.png").stat().st_size > 5000
    assert np.load(run / "physics" / "crosstalk.npy").shape == (3, 3)
