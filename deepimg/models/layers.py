"""Building blocks that several networks share."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

Activation = Literal["relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu"]
Norm = Literal["batch", "group", "layer", "instance", "none"]

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


def conv_norm_act(
    c_in: int, c_out: int, kernel_size: int = 3, stride: int = 1,
    padding: int | str = "same", norm: str = "batch", activation: str = "relu",
) -> list[nn.Module]:  # fmt: skip
    """conv -> norm -> activation, as a list (so a network can keep its flat layer names);
    the conv has no bias when a norm follows, which would cancel it."""
    if padding == "same" and stride != 1:
        padding = kernel_size // 2  # torch allows 'same' only for stride 1
    return [
        nn.Conv2d(c_in, c_out, kernel_size, stride, padding, bias=norm == "none"),
        norm_layer(norm, c_out),
        ACTIVATIONS[activation](),
    ]


def linear_stack(
    width: int, hidden: list[int], num_classes: int, activation: str, dropout: float
) -> list[nn.Module]:
    """(linear -> activation -> dropout) per entry of ``hidden``, then the linear logits."""
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(dropout)]
        width = size
    return [*layers, nn.Linear(width, num_classes)]


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): each channel is rescaled by a gate in (0, 1)
    computed from all channels' means, ``x * sigmoid(W2 relu(W1 mean(x)))``."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, channels, 1), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)


def feature_size(layers: nn.Module, in_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(C, H, W) after ``layers`` for one ``in_shape`` image; an error if nothing is left."""
    import torch

    was_training = layers.training
    layers.eval()  # batch norm accepts a single probe image
    with torch.no_grad():
        out = layers(torch.zeros(1, *in_shape))
    layers.train(was_training)
    if out.shape[-1] < 1 or out.shape[-2] < 1:
        raise ValueError(f"the network shrinks a {tuple(in_shape)} image to nothing")
    return tuple(out.shape[1:])


def last_linear(network: nn.Module) -> nn.Linear | None:
    """The network's last linear layer: a classifier's head, whose input is the penultimate
    feature vector."""
    linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else None
