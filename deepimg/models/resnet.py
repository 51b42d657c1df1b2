"""ResNet-18/34 (He et al. 2016) with a width multiplier and a stem for small images.

The layer names are torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``downsample.0``, ``fc``), so torchvision's ImageNet weights load by name. torchvision itself
is not used: on a CPU-only install there is no torchvision build that matches torch (its
wheels link CUDA libraries), and these blocks are a few lines.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

import torch
from torch import nn

from deepimg.config.constraints import Range
from deepimg.models.base import Network
from deepimg.models.layers import SqueezeExcitation

log = logging.getLogger(__name__)

BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
SMALL_IMAGE = 64  # below this side, the small-image stem: ImageNet's would leave nothing


class BasicBlock(nn.Module):
    """Two 3x3 conv -> batch norm, with the input added back (through a 1x1 conv where the
    shape changes): ``relu(F(x) + shortcut(x))``; optionally squeeze-excitation on F(x)."""

    def __init__(self, c_in: int, c_out: int, stride: int, se: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.se = SqueezeExcitation(c_out) if se else nn.Identity()
        self.downsample = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.relu(out + self.downsample(x))


class ResNet(Network):
    """A stem, four stages of basic blocks (64, 128, 256, 512 channels times ``width``; the
    last three halve the map), global average pooling and a linear ``fc``.

    ``stem``: ``small`` is one 3x3 stride-1 conv without max-pooling (for 28x28 scenes);
    ``imagenet`` is the 7x7 stride-2 conv and 3x3 max-pool; ``auto`` picks ``small`` below 64
    pixels. ``se`` adds squeeze-excitation to every block.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: Annotated[int, Range(2)],
        depth: Literal[18, 34] = 18,
        width: Annotated[float, Range(0.0625, 4)] = 0.25,
        stem: Literal["auto", "small", "imagenet"] = "auto",
        se: bool = False,
        weights: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        widths = [max(4, round(c * width)) for c in (64, 128, 256, 512)]
        if stem == "auto":
            stem = "small" if min(in_shape[1:]) < SMALL_IMAGE else "imagenet"
        if stem == "small":
            self.conv1 = nn.Conv2d(in_shape[0], widths[0], 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_shape[0], widths[0], 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        c_in = widths[0]
        for i, (c_out, blocks) in enumerate(zip(widths, BLOCKS[depth], strict=True)):
            stage = [BasicBlock(c_in if j == 0 else c_out, c_out, 2 if i and not j else 1, se)
                     for j in range(blocks)]  # fmt: skip
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            c_in = c_out
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)
        self.initialize()
        if weights is not None:
            self.load_pretrained(Path(weights))

    def load_pretrained(self, path: Path) -> None:
        """torchvision's ImageNet weights from a local file (``resnet18-f37072fd.pth``,
        ``resnet34-b627a593.pth`` from download.pytorch.org/models/), by name where the shapes
        match; ``fc`` stays new. A sensor with other than 3 channels gets the first conv's
        RGB filters summed (1 channel) or averaged and repeated (others)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - a missing or foreign file, one line
            raise ValueError(f"model.weights={path} is not a readable state_dict ({err})") from None
        own = self.state_dict()
        conv1 = state.get("conv1.weight")
        if conv1 is not None and conv1.shape[1] == 3 and own["conv1.weight"].shape[1] != 3:
            c = own["conv1.weight"].shape[1]
            state["conv1.weight"] = (
                conv1.sum(1, keepdim=True)
                if c == 1
                else conv1.mean(1, keepdim=True).repeat(1, c, 1, 1) * 3 / c
            )
        usable = {k: v for k, v in state.items()
                  if k in own and own[k].shape == v.shape and not k.startswith("fc.")}  # fmt: skip
        if all(k.endswith("num_batches_tracked") for k in usable):  # counters fit anything
            raise ValueError(f"model.weights={path}: no tensor fits this ResNet (width 1 needed)")
        self.load_state_dict(usable, strict=False)
        skipped = sorted(set(state) - set(usable))
        log.info("model.weights=%s: loaded %d tensors, skipped %d (%s)", path, len(usable),
                 len(skipped), ", ".join(skipped[:6]))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
