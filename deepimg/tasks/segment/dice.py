"""The Dice coefficient of each image and class, which the task saves per image and its
figures draw."""

from __future__ import annotations

import torch


def dice_per_image(predicted: torch.Tensor, truth: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(B, K-1)`` Dice of each object class in each image, NaN where the class is absent
    from both (as the metric leaves such images out)."""
    scores = []
    for k in range(1, num_classes):
        p, t = (predicted == k).flatten(1), (truth == k).flatten(1)
        overlap, sizes = (p & t).sum(dim=1).float(), (p.sum(dim=1) + t.sum(dim=1)).float()
        scores.append(torch.where(sizes > 0, 2 * overlap / sizes.clamp_min(1), torch.nan))
    return torch.stack(scores, dim=1)
