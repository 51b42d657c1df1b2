"""Scenes at depths: each scene split into a grid of regions, each region on a depth plane.

A scene of ``H x W`` pixels is cut into ``regions x regions`` rectangles; each lies at one of
``planes`` depths evenly spaced over ``[near, far]`` (depth units: the unit of the pupil's
``defocus_per_depth``), drawn seeded and uniformly, fixed per scene and split (the test
depths never change). The depth map is the task's target; the pupil images each region
through the PSF of its plane (``Pupil.layered``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class DepthPlanes:
    """Depth maps of ``regions x regions`` blocks on ``planes`` planes over [near, far]."""

    regions: int = 4
    planes: int = 8
    near: float = 0.0
    far: float = 1.0

    def check(self, scene_shape: tuple[int, int]) -> None:
        if min(scene_shape) < self.regions:
            h, w = scene_shape
            raise ValueError(
                f"task.regions={self.regions} splits {h}x{w} scenes into blocks under a pixel; "
                f"choose at most {min(scene_shape)}"
            )
        if self.far <= self.near and self.planes > 1:
            raise ValueError(f"task.far={self.far} must lie beyond task.near={self.near}")

    @property
    def depths(self) -> torch.Tensor:
        """The planes' depths ``(planes,)``, near to far."""
        return torch.linspace(self.near, self.far, self.planes)

    def draw(self, n: int, seed: int) -> torch.Tensor:
        """Seeded plane indices ``(n, regions, regions)`` of ``n`` scenes."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randint(0, self.planes, (n, self.regions, self.regions), generator=generator)

    def depth_map(self, index: torch.Tensor, scene_shape: tuple[int, int]) -> torch.Tensor:
        """The depth ``(B, 1, H, W)`` of scenes whose regions are on planes ``index``."""
        blocks = self.depths[index].unsqueeze(1)  # (B, 1, regions, regions)
        return F.interpolate(blocks, size=scene_shape, mode="nearest")
