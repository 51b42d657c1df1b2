"""Several objects on one canvas, for detection and counting: "DOG, DOG, CAT", each with a box.

A canvas ``i`` of a split shows 1 to ``objects`` scenes of that split: its own scene ``i``
first, then scenes drawn at random, each at a seeded position where its box overlaps every
box already placed by at most ``overlap`` (intersection over union). An object that finds
no such place within ``TRIES`` draws is left out, so crowded canvases hold fewer objects.
Where objects overlap, the brighter pixel wins (``max``): the scenes are light on black.

A box is the tight box of the scene's pixels above ``threshold`` of full scale, in canvas
pixel edges ``(x1, y1, x2, y2)``: a box over columns ``a..b`` has ``x1 = a`` and
``x2 = b + 1``. Its class is the scene's label.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepimg.data.canvas import Background, Canvas, batch_seed

TRIES = 32  # seeded positions tried for each object before it is left out


def tight_boxes(images: torch.Tensor, threshold: float) -> torch.Tensor:
    """The box ``(x1, y1, x2, y2)`` of each image's pixels above ``threshold`` (of its
    values' scale), in the image's pixel edges; the whole image where none is above.
    ``images``: ``(n, C, h, w)``; returns ``(n, 4)`` floats."""
    n, _, h, w = images.shape
    lit = images.float().amax(dim=1) > threshold  # (n, h, w)
    rows, cols = lit.any(dim=2), lit.any(dim=1)

    def span(hit: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        first = hit.float().argmax(dim=1)
        last = size - hit.flip(1).float().argmax(dim=1)  # one past the last lit pixel
        empty = ~hit.any(dim=1)
        return first.masked_fill(empty, 0), last.masked_fill(empty, size)

    y1, y2 = span(rows, h)
    x1, x2 = span(cols, w)
    return torch.stack([x1, y1, x2, y2], dim=1).float()


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Intersection over union of boxes ``a (..., 4)`` and ``b (..., 4)``, broadcast."""
    lo = torch.maximum(a[..., :2], b[..., :2])
    hi = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=-1)
    area_a = (a[..., 2:] - a[..., :2]).prod(dim=-1)
    area_b = (b[..., 2:] - b[..., :2]).prod(dim=-1)
    return inter / (area_a + area_b - inter).clamp(min=1e-9)


@dataclass
class Layout:
    """Where the objects of ``n`` canvases are: ``members (n, N)`` the index of each object's
    scene in the split (-1: no object), ``tops (n, N, 2)`` their top-left pixels (row, col),
    ``boxes (n, N, 4)`` their boxes on the canvas."""

    members: torch.Tensor
    tops: torch.Tensor
    boxes: torch.Tensor

    @property
    def counts(self) -> torch.Tensor:
        return (self.members >= 0).sum(dim=1)


@dataclass
class Scatter:
    """A ``size`` x ``size`` canvas holding 1 to ``objects`` scenes (module docstring).

    ``overlap``: the largest IoU allowed between two objects' boxes (0: they never overlap);
    ``background``, ``level``: as for one object (``Canvas``)."""

    size: int
    objects: int = 3
    overlap: float = 0.1
    background: Background = "zero"
    level: float = 0.2
    seed: int = 0

    def check(self, scene_shape: tuple[int, int]) -> None:
        Canvas(self.size).check(scene_shape)

    def layout(self, boxes: torch.Tensor, scene_shape: tuple[int, int], seed: int) -> Layout:
        """Seeded members and positions for one canvas per scene of a split whose scenes have
        the tight ``boxes (n, 4)`` (in scene pixels)."""
        n, (h, w) = len(boxes), scene_shape
        generator = torch.Generator().manual_seed(seed)
        wanted = torch.randint(1, self.objects + 1, (n,), generator=generator)
        drawn = torch.randint(0, n, (n, self.objects), generator=generator)
        drawn[:, 0] = torch.arange(n)  # canvas i shows scene i first
        members = torch.full((n, self.objects), -1, dtype=torch.long)
        tops = torch.zeros(n, self.objects, 2, dtype=torch.long)
        placed = torch.zeros(n, self.objects, 4)
        for j in range(self.objects):  # vectorised over canvases, TRIES candidates each
            rows = torch.randint(0, self.size - h + 1, (n, TRIES), generator=generator)
            cols = torch.randint(0, self.size - w + 1, (n, TRIES), generator=generator)
            shift = torch.stack([cols, rows, cols, rows], dim=-1).float()
            candidate = boxes[drawn[:, j]].unsqueeze(1) + shift  # (n, TRIES, 4)
            iou = box_iou(candidate.unsqueeze(2), placed[:, :j].unsqueeze(1))  # (n, T, j)
            fits = (iou <= self.overlap).all(dim=2)  # the first object: nothing to overlap
            found = fits.any(dim=1) & (j < wanted)
            first = fits.float().argmax(dim=1)
            pick = torch.arange(n)
            members[found, j] = drawn[found, j]
            tops[found, j] = torch.stack([rows[pick, first], cols[pick, first]], dim=1)[found]
            placed[found, j] = candidate[pick, first][found]
        return Layout(members, tops, placed)

    def place(
        self, layout: Layout, index: list[int], pool: torch.Tensor, max_value: int
    ) -> torch.Tensor:
        """The canvases ``(B, C, size, size)`` of ``index``: each member's scene from ``pool``
        (the split's stored images, integers of full scale ``max_value``) at its place."""
        members, tops = layout.members[index], layout.tops[index]
        b, c, (h, w) = len(index), pool.shape[1], pool.shape[-2:]
        generator = torch.Generator().manual_seed(batch_seed(self.seed, index))
        canvas = Canvas(self.size, self.background, self.level).fill(
            b, c, generator, pool, max_value
        )
        for j in range(members.shape[1]):
            for i in torch.nonzero(members[:, j] >= 0).flatten().tolist():
                row, col = tops[i, j].tolist()
                scene = pool[members[i, j]].float() / max_value
                region = canvas[i, :, row : row + h, col : col + w]
                canvas[i, :, row : row + h, col : col + w] = torch.maximum(region, scene)
        return canvas
