"""Depth: the metrics, the mean-depth guess, depth from defocus by sharpness, and the task
imaging each region through the PSF of its depth."""

from __future__ import annotations

import pytest
import torch

from deepimg.physics.blur import Blur
from deepimg.physics.pupil import Pupil
from deepimg.tasks.depth import Depth
from deepimg.tasks.depth.sharpness import sharpness
from deepimg.tasks.depth.task import WithinTolerance


def test_within_tolerance_counts_pixels_close_enough() -> None:
    metric = WithinTolerance(0.25)
    metric.update(torch.tensor([0.0, 0.2, 0.3, 1.0]), torch.zeros(4))
    assert float(metric.compute()) == 0.5


def test_the_mean_depth_guess_has_the_planes_spread_as_its_rmse() -> None:
    task = Depth(planes=3, near=0.0, far=2.0)  # depths 0, 1, 2: the mean 1 is off by 0, 1, 1
    chance = task.chance()
    assert chance["rmse"] == pytest.approx((2 / 3) ** 0.5)
    assert chance["within_tol"] == pytest.approx(1 / 3)  # tolerance: half the spacing, 0.5


def textured(n: int = 4, size: int = 32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, size, size, generator=generator)


def test_sharpness_falls_with_blur() -> None:
    scenes = textured()
    values = [
        float(sharpness(Blur((1, 32, 32), sigma=s)(scenes)).mean()) if s else
        float(sharpness(scenes).mean())
        for s in (0, 0.7, 1.5, 3.0)
    ]  # fmt: skip
    assert values == sorted(values, reverse=True)


def test_the_sharpness_table_reads_depth_back_where_blur_grows_with_it() -> None:
    lens = Pupil((1, 32, 32), defocus_per_depth=0.15, focus_depth=0.0)
    task = Depth(regions=1, planes=4, near=0.0, far=1.0)
    scenes = textured(64)
    depth = task.planes[torch.arange(64) % 4].view(64, 1, 1, 1).expand(64, 1, 32, 32)
    measured = task.measure(lens, scenes, depth)
    task.table.fit(sharpness(measured), depth)
    estimate = task.table(sharpness(measured)).flatten(1).mean(dim=1)
    by_plane = [float(estimate[torch.arange(64) % 4 == k].mean()) for k in range(4)]
    assert by_plane == sorted(by_plane)  # farther planes read as farther
    rmse = float(((task.table(sharpness(measured)) - depth) ** 2).mean().sqrt())
    assert rmse < task.chance()["rmse"]  # better than the mean depth


def test_the_task_images_each_region_through_its_depth() -> None:
    lens = Pupil((1, 16, 16), defocus_per_depth=0.15)
    task = Depth(regions=2, planes=2, near=0.0, far=1.0)
    scenes = textured(2, 16)
    depth = torch.zeros(2, 1, 16, 16)
    depth[:, :, :, 8:] = 1.0
    assert torch.allclose(
        task.measure(lens, scenes, depth), lens.layered(scenes, depth, task.planes)
    )
    assert torch.allclose(task.measure(lens, scenes), lens(scenes))  # no depth: the focal plane


def test_a_layer_without_a_depth_psf_is_refused() -> None:
    with pytest.raises(ValueError, match="physical_layer=pupil"):
        Depth().check(Blur((1, 16, 16), sigma=1.0))
    Depth().check(Pupil((1, 16, 16)))
