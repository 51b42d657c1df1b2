"""A physical layer that fails on purpose, for the fault tests (importable by subprocesses
run with the repository on PYTHONPATH)."""

from __future__ import annotations

import torch

from deepimg.physics.base import PhysicalLayer


class Exploding(PhysicalLayer):
    """The identity, or with ``explode`` a RuntimeError at the first forward pass: a job that
    passes every check and fails in training."""

    def __init__(self, in_shape: tuple[int, int, int], explode: bool = False) -> None:
        super().__init__(in_shape)
        self.explode = explode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.explode:
            raise RuntimeError("the exploding layer exploded, as asked")
        return x
