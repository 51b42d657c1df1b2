"""Objects as points (Zhou et al. 2019, "Objects as Points", CenterNet): a detector that
answers a heat map of object centres per class and each object's box size at its centre.

The network's output ``(B, K + 2, H, W)``, ``stride`` canvas pixels a cell (CenterNet's output
stride), holds K centre logits (one channel a class) and the box's width and height in units
of ``scale`` canvas pixels. The
target heat map puts a Gaussian of standard deviation ``sqrt(w h) / 8`` pixels (at least
0.8) on the cell of each object's centre (box and sigma in cells), 1 there; the loss is CenterNet's penalty-reduced focal
loss on the heat map plus an L1 loss on the sizes at the true centres. Decoding keeps the
local maxima of the heat map (a 3 x 3 max-pool, CenterNet's stand-in for non-maximum
suppression) of each class's heat map, and the ``keep`` strongest of them over all classes:
a sandal that looks half an ankle boot is both, each with its score, as COCO's mAP wants.
Counting takes each object once: a detection counts when it scores at least the threshold
and no stronger one that counts has its centre within ``radius`` pixels (the neighbouring
cells).

Boxes are ``(x1, y1, x2, y2)`` in canvas pixel edges; a detection adds its score and class:
``(x1, y1, x2, y2, score, class)``, padded with class -1 and score 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

COUNT_RADIUS = 1.5  # cells: detections this close to a stronger one are the same object
PRIOR_LOGIT = -2.19  # log(0.1 / 0.9): CenterNet starts every centre's chance at 0.1
SIZE_WEIGHT = 1.0  # the size loss beside the focal loss (sizes in units of the scene side)


def centre_pixels(boxes: torch.Tensor) -> torch.Tensor:
    """The pixel ``(col, row)`` that holds each box's centre, ``(..., 2)`` long."""
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2
    return centre.floor().long()


def heat_target(
    boxes: torch.Tensor, labels: torch.Tensor, classes: int, size: tuple[int, int]
) -> torch.Tensor:
    """The target heat map ``(B, classes, H, W)`` of boxes ``(B, N, 4)`` with classes
    ``(B, N)`` (-1: none): per class, the largest of the objects' Gaussians."""
    b, n = labels.shape
    h, w = size
    heat = boxes.new_zeros(b, classes, h, w)
    rows = torch.arange(h, device=boxes.device, dtype=boxes.dtype).view(1, 1, h, 1)
    cols = torch.arange(w, device=boxes.device, dtype=boxes.dtype).view(1, 1, 1, w)
    centre = centre_pixels(boxes).to(boxes.dtype)  # (B, N, 2)
    extent = (boxes[..., 2:] - boxes[..., :2]).clamp(min=1)
    sigma = (extent.prod(dim=-1).sqrt() / 8).clamp(min=0.8)  # (B, N)
    d2 = (cols - centre[..., 0, None, None]) ** 2 + (rows - centre[..., 1, None, None]) ** 2
    blobs = torch.exp(-d2 / (2 * sigma[..., None, None] ** 2))  # (B, N, H, W)
    present = labels >= 0
    blobs = blobs * present[..., None, None]
    index = labels.clamp(min=0)[..., None, None].expand(b, n, h, w)
    return heat.scatter_reduce(1, index, blobs, reduce="amax", include_self=True)


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), per object."""
    positive = target.eq(1).float()
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    p = log_p.exp()
    pos = (1 - p) ** 2 * log_p * positive
    neg = (1 - target) ** 4 * p**2 * log_not_p * (1 - positive)
    return -(pos.sum() + neg.sum()) / positive.sum().clamp(min=1)


def size_loss(
    sizes: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor, scale: float, stride: int
) -> torch.Tensor:
    """L1 between the predicted ``(w, h)`` at each true centre's cell and the true one (in
    units of ``scale`` canvas pixels), over the objects present."""
    b, _, h, w = sizes.shape
    centre = centre_pixels(boxes / stride)
    col, row = centre[..., 0].clamp(0, w - 1), centre[..., 1].clamp(0, h - 1)
    flat = (row * w + col).unsqueeze(1).expand(b, 2, -1)  # (B, 2, N)
    predicted = sizes.flatten(2).gather(2, flat).transpose(1, 2)  # (B, N, 2)
    true = (boxes[..., 2:] - boxes[..., :2]) / scale
    present = (labels >= 0).unsqueeze(-1).float()
    return ((predicted - true).abs() * present).sum() / present.sum().clamp(min=1) / 2


def decode(
    output: torch.Tensor, classes: int, scale: float, keep: int, stride: int = 1
) -> torch.Tensor:
    """The ``keep`` strongest detections ``(B, keep, 6)``, in canvas pixels, of an output
    ``(B, K + 2, H, W)`` of ``stride`` canvas pixels a cell whose first K channels are centre
    logits."""
    heat = output[:, :classes].sigmoid()
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
    b, k, h, w = heat.shape
    scores, flat = peaks.flatten(1).topk(min(keep, k * h * w), dim=1)
    label, pixel = flat // (h * w), flat % (h * w)
    row, col = (pixel // w).to(output.dtype), (pixel % w).to(output.dtype)
    sizes = output[:, classes : classes + 2].flatten(2)  # (B, 2, H W)
    wh = sizes.gather(2, pixel.unsqueeze(1).expand(b, 2, -1)).transpose(1, 2).clamp(min=0) * scale
    cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
    boxes = torch.stack(
        [cx - wh[..., 0] / 2, cy - wh[..., 1] / 2, cx + wh[..., 0] / 2, cy + wh[..., 1] / 2], -1
    )
    found = scores > 0
    label = torch.where(found, label, -1).to(output.dtype)
    return torch.cat([boxes, scores.unsqueeze(-1), label.unsqueeze(-1)], dim=-1)


def objects(target: torch.Tensor) -> torch.Tensor:
    """The objects on each canvas of a target ``(B, N, 5)`` (class -1: no object)."""
    return (target[..., 4] >= 0).sum(dim=1)


def counts(detections: torch.Tensor, threshold: float, radius: float = 0.0) -> torch.Tensor:
    """Objects counted on each canvas: detections ``(B, M, 6)`` scoring at least ``threshold``,
    less those with a stronger such detection's centre within ``radius`` pixels (one object
    seen as two classes counts once)."""
    valid = (detections[..., 4] >= threshold) & (detections[..., 5] >= 0)
    if radius <= 0:
        return valid.sum(dim=1)
    centre = (detections[..., :2] + detections[..., 2:4]) / 2
    near = torch.cdist(centre.float(), centre.float()) <= radius  # (B, M, M)
    stronger = detections[..., 4].unsqueeze(1) > detections[..., 4].unsqueeze(2)  # [b, j, i]: i > j
    shadowed = (near & stronger & valid.unsqueeze(1)).any(dim=2)
    return (valid & ~shadowed).sum(dim=1)
