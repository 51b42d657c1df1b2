"""Several objects on a canvas: tight boxes, seeded layouts that keep their overlap, and
canvases that show each object inside its box."""

from __future__ import annotations

import torch

from deepimg.data.scatter import Scatter, box_iou, tight_boxes


def test_a_tight_box_spans_the_lit_pixels_in_pixel_edges() -> None:
    image = torch.zeros(2, 1, 8, 8)
    image[0, 0, 2:5, 3:7] = 1.0  # rows 2..4, columns 3..6
    boxes = tight_boxes(image, 0.5)
    assert boxes[0].tolist() == [3.0, 2.0, 7.0, 5.0]
    assert boxes[1].tolist() == [0.0, 0.0, 8.0, 8.0]  # nothing lit: the whole image


def test_box_iou_of_known_boxes() -> None:
    a = torch.tensor([0.0, 0.0, 4.0, 4.0])
    assert box_iou(a, a) == 1.0
    assert box_iou(a, torch.tensor([2.0, 0.0, 6.0, 4.0])) == 8 / 24
    assert box_iou(a, torch.tensor([4.0, 4.0, 8.0, 8.0])) == 0.0


def test_a_layout_keeps_its_counts_overlap_and_canvas() -> None:
    scenes = torch.zeros(300, 1, 8, 8)
    scenes[:, :, 1:7, 2:6] = 1.0
    boxes = tight_boxes(scenes, 0.5)
    scatter = Scatter(size=24, objects=3, overlap=0.2)
    layout = scatter.layout(boxes, (8, 8), seed=1)
    counts = layout.counts
    assert counts.min() >= 1 and counts.max() == 3 and set(counts.tolist()) == {1, 2, 3}
    assert torch.equal(layout.members[:, 0], torch.arange(300))  # canvas i shows scene i
    placed = layout.members >= 0
    assert (layout.boxes[placed] >= 0).all() and (layout.boxes[placed] <= 24).all()
    for i in range(300):
        own = layout.boxes[i][placed[i]]
        iou = box_iou(own.unsqueeze(1), own.unsqueeze(0))
        assert (iou.fill_diagonal_(0) <= 0.2 + 1e-6).all()
    again = scatter.layout(boxes, (8, 8), seed=1)
    assert torch.equal(again.tops, layout.tops)  # seeded: the test canvases never change


def test_each_object_lies_inside_its_box_on_the_canvas() -> None:
    generator = torch.Generator().manual_seed(0)
    pool = (torch.rand(40, 1, 8, 8, generator=generator) > 0.5).to(torch.uint8) * 255
    pool[:, :, 0, :] = 0  # a dark first row: the tight box starts lower
    boxes = tight_boxes(pool, 127)
    scatter = Scatter(size=32, objects=2, overlap=0.0)
    layout = scatter.layout(boxes, (8, 8), seed=0)
    canvas = scatter.place(layout, list(range(40)), pool, 255)
    assert canvas.shape == (40, 1, 32, 32)
    for i in range(40):
        inside = torch.zeros(32, 32, dtype=torch.bool)
        for x1, y1, x2, y2 in layout.boxes[i][layout.members[i] >= 0].long().tolist():
            inside[y1:y2, x1:x2] = True
        lit = canvas[i, 0] > 0.5
        assert lit.any() and not (lit & ~inside).any()  # no light outside the boxes
