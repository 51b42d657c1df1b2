"""Stratified, seeded index splits: every class keeps its share in every split."""

from __future__ import annotations

import torch


def stratified_take(
    labels: torch.Tensor, amount: float | int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split indices of ``labels`` into (taken, rest), stratified by class.

    ``amount`` is a fraction of each class when a float in (0, 1), else a total count,
    shared out between the classes in proportion to their size. The same ``seed`` gives
    the same split.
    """
    n = len(labels)
    fraction = amount if isinstance(amount, float) and 0 < amount < 1 else amount / n
    generator = torch.Generator().manual_seed(seed)
    taken, rest = [], []
    for cls in labels.unique(sorted=True):
        idx = (labels == cls).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        k = round(fraction * len(idx))
        taken.append(idx[:k])
        rest.append(idx[k:])
    return torch.cat(taken).sort().values, torch.cat(rest).sort().values
