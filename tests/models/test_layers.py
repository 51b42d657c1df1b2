"""The building blocks that several networks share."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.cnn import CNN
from deepimg.models.layers import (
    SqueezeExcitation,
    conv_norm_act,
    feature_size,
    last_linear,
    linear_stack,
    norm_layer,
)
from deepimg.models.resnet import ResNet


def test_squeeze_excitation_gates_each_channel_in_0_1() -> None:
    se = SqueezeExcitation(8)
    x = torch.rand(2, 8, 5, 5) + 0.1
    ratio = se(x) / x  # one gate per image and channel, the same at every pixel
    assert ratio.min() > 0 and ratio.max() < 1
    assert torch.allclose(ratio, ratio[..., :1, :1].expand_as(ratio), atol=1e-6)
    with_se = CNN((1, 28, 28), 10, se=True)
    assert sum(isinstance(m, SqueezeExcitation) for m in with_se.modules()) == 2
    assert (
        sum(isinstance(m, SqueezeExcitation) for m in ResNet((1, 28, 28), 10, se=True).modules())
        == 8
    )
    assert with_se(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_last_linear_is_the_last_linear_layer_or_none() -> None:
    net = CNN((1, 8, 8), 10, depth=1, channels=2, fc=[16, 8])
    assert last_linear(net) is net.head[-1]
    assert (last_linear(net).in_features, last_linear(net).out_features) == (8, 10)
    nested = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), nn.ReLU())
    assert last_linear(nested) is nested[1][1]
    assert last_linear(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())) is None


class Crop(nn.Module):
    """Drops the outermost pixel on every side."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., 1:-1, 1:-1]


def test_feature_size_probes_one_image_and_leaves_the_mode_as_it_was() -> None:
    layers = nn.Sequential(*conv_norm_act(3, 5, 3, 1, 0), nn.MaxPool2d(2))
    layers.train()
    assert feature_size(layers, (3, 10, 12)) == (5, 4, 5)
    assert layers.training
    with pytest.raises(ValueError, match=r"shrinks a \(1, 2, 2\) image to nothing"):
        feature_size(Crop(), (1, 2, 2))


@pytest.mark.parametrize(
    ("norm", "kind"),
    [("batch", nn.BatchNorm2d), ("group", nn.GroupNorm), ("layer", nn.GroupNorm),
     ("instance", nn.InstanceNorm2d), ("none", nn.Identity)],
)  # fmt: skip
def test_conv_norm_act_has_a_bias_only_without_a_norm(norm: str, kind: type) -> None:
    conv, normalise, act = conv_norm_act(2, 16, 3, 1, "same", norm, "elu")
    assert isinstance(normalise, kind) and isinstance(act, nn.ELU)
    assert (conv.bias is not None) == (norm == "none")
    assert conv(torch.rand(1, 2, 7, 7)).shape == (1, 16, 7, 7)  # "same"


def test_group_norm_uses_up_to_8_groups_and_layer_norm_one_group_per_image() -> None:
    assert norm_layer("group", 16).num_groups == 8 and norm_layer("group", 4).num_groups == 4
    layer = norm_layer("layer", 3)
    x = torch.rand(2, 3, 4, 4) * torch.tensor([1.0, 5.0]).view(2, 1, 1, 1)
    with torch.no_grad():
        y = layer(x)
    for image in y:  # zero mean and unit variance over (C, H, W) of each image
        assert float(image.mean()) == pytest.approx(0, abs=1e-5)
        assert float(image.var(unbiased=False)) == pytest.approx(1, abs=1e-3)


def test_same_padding_with_a_stride_pads_by_half_the_kernel() -> None:
    conv = conv_norm_act(1, 1, 5, 2, "same")[0]
    assert conv.padding == (2, 2)
    assert conv(torch.rand(1, 1, 9, 9)).shape == (1, 1, 5, 5)


def test_linear_stack_is_a_hidden_layer_per_width_then_the_logits() -> None:
    layers = linear_stack(20, [8, 4], 3, "gelu", 0.5)
    shapes = [(m.in_features, m.out_features) for m in layers if isinstance(m, nn.Linear)]
    assert shapes == [(20, 8), (8, 4), (4, 3)]
    assert [type(m) for m in layers[:3]] == [nn.Linear, nn.GELU, nn.Dropout]
    assert layers[2].p == 0.5 and isinstance(layers[-1], nn.Linear)
    assert len(linear_stack(20, [], 3, "relu", 0.0)) == 1
