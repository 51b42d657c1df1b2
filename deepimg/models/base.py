"""What every network states about itself: what it outputs. And what the classifier
networks share: how their weights start.

A network outputs a ``vector`` (one value per class, or two coordinates: it takes
``num_classes``) or a ``map`` (an image of ``out_channels`` channels: it takes
``out_channels``), or can do either. A task says which it needs; nothing matches on names."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.init import init_weights

Output = Literal["vector", "map"]
OUTPUT_ARGUMENT: dict[str, str] = {"vector": "num_classes", "map": "out_channels"}

Init = Literal[
    "default", "kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform",
    "orthogonal", "normal",
]  # fmt: skip


class Network(nn.Module):
    """A network sized from what the physical layer delivers, ``in_shape`` (C, H, W).

    ``init`` chooses how the conv and linear weights start (``deepimg.models.init``);
    ``default`` keeps PyTorch's own. A subclass builds its layers, then calls
    ``self.initialize()``.
    """

    outputs: ClassVar[frozenset[Output]] = frozenset({"vector"})

    def __init__(
        self, init: Init = "default", init_std: Annotated[float, Range(1e-6, 1.0)] = 0.01
    ) -> None:
        super().__init__()
        self.init, self.init_std = init, init_std

    def initialize(self) -> None:
        init_weights(self, self.init, self.init_std)
