"""A plain convolutional classifier whose every design choice is a config key."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import torch
from torch import nn

from deepimg.config.constraints import Range

Activation = Literal["relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu"]
Norm = Literal["batch", "group", "layer", "instance", "none"]
Pooling = Literal["max", "avg", "none"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}


def norm_layer(norm: str, channels: int) -> nn.Module:
    """The normalisation after a convolution; "layer" normalises over (C, H, W) per image."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if norm == "layer":
        return nn.GroupNorm(1, channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


class CNN(nn.Module):
    """``depth`` conv blocks (conv -> norm -> activation -> pool), then an MLP head.

    Block ``i`` has ``channels * 2**i`` filters. Pooling halves the feature map while it
    is at least 2 pixels wide. The head flattens the last feature map, applies dropout,
    then one hidden layer per entry of ``fc`` before the ``num_classes`` logits.
    """

    tasks: ClassVar[tuple[str, ...]] = ("classify", "localize")

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: Annotated[int, Range(2)],
        depth: Annotated[int, Range(1, 8)] = 2,
        channels: Annotated[int, Range(1)] = 32,
        kernel_size: Annotated[int, Range(1)] = 3,
        stride: Annotated[int, Range(1)] = 1,
        padding: Annotated[int, Range(0)] | Literal["same"] = "same",
        pooling: Pooling = "max",
        activation: Activation = "relu",
        norm: Norm = "batch",
        dropout: Annotated[float, Range(0, 1)] = 0.0,
        fc: list[Annotated[int, Range(1)]] | None = None,
    ) -> None:
        super().__init__()
        if padding == "same" and stride != 1:
            padding = kernel_size // 2  # torch allows 'same' only for stride 1
        blocks: list[nn.Module] = []
        c_in, (_, h, w) = in_shape[0], in_shape
        for i in range(depth):
            c_out = channels * 2**i
            blocks += [
                nn.Conv2d(c_in, c_out, kernel_size, stride, padding, bias=norm == "none"),
                norm_layer(norm, c_out),
                ACTIVATIONS[activation](),
            ]
            if pooling != "none" and min(h, w) >= 2:
                blocks.append(nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2))
            c_in = c_out
            h, w = self._feature_size(blocks, in_shape)
        self.features = nn.Sequential(*blocks)
        head: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout)]
        width = c_in * h * w
        for hidden in fc or []:
            head += [nn.Linear(width, hidden), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = hidden
        head.append(nn.Linear(width, num_classes))
        self.head = nn.Sequential(*head)

    @staticmethod
    def _feature_size(blocks: list[nn.Module], in_shape: tuple[int, int, int]) -> tuple[int, int]:
        probe = nn.Sequential(*blocks).eval()  # eval: batch norm accepts a single probe image
        with torch.no_grad():
            out = probe(torch.zeros(1, *in_shape))
        probe.train()
        if out.shape[-1] < 1 or out.shape[-2] < 1:
            raise ValueError(f"the network shrinks a {tuple(in_shape)} image to nothing")
        return out.shape[-2], out.shape[-1]

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """Features before the last linear layer (for embeddings and analysis)."""
        return self.head[:-1](self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
