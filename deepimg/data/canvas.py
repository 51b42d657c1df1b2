"""Scenes placed on a larger canvas, for localisation: where on the sensor is the object?"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

import torch

Background = Literal["zero", "noise", "clutter"]
CLUTTER_PIECES = 3  # fragments of other scenes strewn over each canvas


def batch_seed(seed: int, index: list[int]) -> int:
    """A seed from ``seed`` and the batch's indices: the same batch gets the same background."""
    return (seed * 1_000_003 + zlib.crc32(str(list(index)).encode())) % 2**63


@dataclass
class Canvas:
    """A ``size`` x ``size`` canvas on which each scene is placed whole at its own position.

    ``background``: ``zero`` (black), ``noise`` (uniform in [0, ``level``] per pixel) or
    ``clutter`` (three half-size fragments of other scenes of the split, at random places,
    below the object). The object is never cut by the canvas edge. Its centre, the target
    of localisation, is ``top_left + (h - 1) / 2`` in canvas pixels (row, col); pixel
    ``(r, c)`` is centred at ``(r, c)``.
    """

    size: int
    background: Background = "zero"
    level: float = 0.2
    seed: int = 0

    def check(self, scene_shape: tuple[int, int]) -> None:
        h, w = scene_shape
        if self.size < max(h, w):
            raise ValueError(
                f"canvas={self.size} is smaller than the {h}x{w} scenes; choose a canvas of at least {max(h, w)}"
            )

    def top_left(self, n: int, scene_shape: tuple[int, int], seed: int) -> torch.Tensor:
        """``(n, 2)`` seeded integer positions of the scenes' top-left pixels, fully inside."""
        generator = torch.Generator().manual_seed(seed)
        h, w = scene_shape
        rows = torch.randint(0, self.size - h + 1, (n,), generator=generator)
        cols = torch.randint(0, self.size - w + 1, (n,), generator=generator)
        return torch.stack([rows, cols], dim=1)

    @staticmethod
    def centres(tops: torch.Tensor, scene_shape: tuple[int, int]) -> torch.Tensor:
        """The objects' centres ``(n, 2)`` (row, col) in canvas pixels, as floats."""
        h, w = scene_shape
        return tops.float() + torch.tensor([(h - 1) / 2, (w - 1) / 2])

    def place(
        self,
        scenes: torch.Tensor,
        tops: torch.Tensor,
        index: list[int],
        pool: torch.Tensor,
        max_value: int,
    ) -> torch.Tensor:
        """Scenes ``(B, C, h, w)`` on their canvases ``(B, C, size, size)``; ``pool`` holds the
        split's stored images (integers of full scale ``max_value``), for clutter."""
        b, c, h, w = scenes.shape
        generator = torch.Generator().manual_seed(batch_seed(self.seed, index))
        canvas = self.fill(b, c, generator, pool, max_value)
        for i, (row, col) in enumerate(tops.tolist()):
            canvas[i, :, row : row + h, col : col + w] = scenes[i]
        return canvas

    def fill(
        self, b: int, c: int, generator: torch.Generator, pool: torch.Tensor, max_value: int
    ) -> torch.Tensor:
        """The empty canvases, with their background."""
        canvas = torch.zeros(b, c, self.size, self.size)
        if self.background == "noise":
            canvas.uniform_(0, self.level, generator=generator)
        elif self.background == "clutter":
            big_h, big_w = pool.shape[-2:]
            h, w = big_h // 2, big_w // 2

            def draw(high: int) -> int:
                return int(torch.randint(0, high, (1,), generator=generator))

            for i in range(b):
                for _ in range(CLUTTER_PIECES):
                    k, y, x = draw(len(pool)), draw(big_h - h + 1), draw(big_w - w + 1)
                    r, q = draw(self.size - h + 1), draw(self.size - w + 1)
                    piece = pool[k, :, y : y + h, x : x + w].float() / max_value
                    region = canvas[i, :, r : r + h, q : q + w]
                    canvas[i, :, r : r + h, q : q + w] = torch.maximum(region, piece)
        return canvas
