"""Which parts of the *scene* the decision depends on: saliency, occlusion and sliding windows.

All three work on scenes, in front of the physical layer, because the question an imaging
researcher asks is what in the world the system looks at, not what in the sensor image.
``model`` is anything that maps scenes ``(B, C, H, W)`` in [0, 1] to class logits
(the ``ImagingModule``: physics -> standardisation -> network), in evaluation mode.
"""

from __future__ import annotations

import torch
from torch import nn

BATCH = 256  # occluded or windowed copies per forward pass


def scene_gradient(
    model: nn.Module, scenes: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor | None:
    """d logit[target] / d scene for each image, or None when no gradient reaches the scene."""
    scenes = scenes.clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(scenes)
        score = logits.gather(1, targets[:, None]).sum()
        if not score.requires_grad:
            return None
        (grad,) = torch.autograd.grad(score, scenes, allow_unused=True)
    return None if grad is None or not grad.any() else grad


def saliency(
    model: nn.Module, physics: nn.Module, scenes: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, bool]:
    """Saliency ``|d logit[target] / d scene|``, the largest over colour channels: ``(B, H, W)``.

    The gradient runs through the physical layer as evaluated (the hard design). Some
    evaluation forms pass no gradient (exact Poisson noise is not differentiable); then the
    layer's training surrogate is used instead, and the returned flag is True.
    """
    model.eval()
    grad = scene_gradient(model, scenes, targets)
    surrogate = grad is None
    if surrogate:
        physics.train()  # the differentiable form the network was trained through
        try:
            grad = scene_gradient(model, scenes, targets)
        finally:
            physics.eval()
    if grad is None:
        grad = torch.zeros_like(scenes)
    return grad.abs().amax(dim=1), surrogate


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Offsets of a window sliding over ``size`` pixels; the last one touches the far edge."""
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


@torch.no_grad()
def class_probability(model: nn.Module, scenes: torch.Tensor) -> torch.Tensor:
    """Softmax probabilities ``(B, K)``, computed in chunks of ``BATCH`` scenes."""
    return torch.cat([model(chunk).softmax(dim=1) for chunk in scenes.split(BATCH)])


@torch.no_grad()
def occlusion(
    model: nn.Module, scene: torch.Tensor, target: int, patch: int, stride: int
) -> torch.Tensor:
    """Occlusion sensitivity ``(H, W)`` of one scene ``(C, H, W)``.

    A ``patch`` x ``patch`` square, filled with the scene's mean, slides over the scene;
    each pixel gets the mean drop of the target class's probability over the squares that
    covered it. Positive: hiding it hurts the decision; negative: hiding it helps.
    """
    _, h, w = scene.shape
    fill = scene.mean(dim=(1, 2), keepdim=True)
    corners = [
        (top, left)
        for top in window_starts(h, patch, stride)
        for left in window_starts(w, patch, stride)
    ]
    occluded = scene.repeat(len(corners), 1, 1, 1)
    for i, (top, left) in enumerate(corners):
        occluded[i, :, top : top + patch, left : left + patch] = fill
    base = class_probability(model, scene[None])[0, target]
    drops = base - class_probability(model, occluded)[:, target]
    total, count = torch.zeros(h, w), torch.zeros(h, w)
    for drop, (top, left) in zip(drops.cpu(), corners, strict=True):
        total[top : top + patch, left : left + patch] += drop
        count[top : top + patch, left : left + patch] += 1
    return total / count


def mosaic(scenes: torch.Tensor, side: int) -> torch.Tensor:
    """The first ``side**2`` scenes ``(B, C, H, W)`` tiled row by row into one ``(C, side*H, side*W)``."""
    b, c, h, w = scenes.shape
    if b < side * side:
        raise ValueError(f"a {side}x{side} mosaic needs {side * side} scenes, got {b}")
    tiles = scenes[: side * side].reshape(side, side, c, h, w)
    return tiles.permute(2, 0, 3, 1, 4).reshape(c, side * h, side * w)


@torch.no_grad()
def sliding_window(
    model: nn.Module, image: torch.Tensor, window: tuple[int, int], stride: int
) -> torch.Tensor:
    """Class probabilities ``(K, rows, cols)`` of a ``window``-sized crop at every position.

    The crop at ``(row, col)`` has its top-left corner at ``(row * stride, col * stride)``;
    each crop is a scene of the size the model was trained on.
    """
    h, w = window
    crops = image.unfold(1, h, stride).unfold(2, w, stride)  # (C, rows, cols, h, w)
    c, rows, cols = crops.shape[:3]
    crops = crops.permute(1, 2, 0, 3, 4).reshape(rows * cols, c, h, w)
    return class_probability(model, crops).T.reshape(-1, rows, cols)
