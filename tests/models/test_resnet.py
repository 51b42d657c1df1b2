"""ResNet-18/34: torchvision's network at full width, the stems, the width multiplier and
loading torchvision's weights by name."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepimg.models.resnet import ResNet


def n_params(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


@pytest.mark.parametrize(("depth", "published"), [(18, 11_689_512), (34, 21_797_672)])
def test_resnet_at_full_width_is_torchvisions_network(depth: int, published: int) -> None:
    """The parameter counts and layer names of torchvision's resnet18/34 (ImageNet, 1000
    classes), so that its weights load by name."""
    net = ResNet((3, 224, 224), 1000, depth=depth, width=1.0)
    assert n_params(net) == published
    names = set(net.state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv2.weight",
            "layer2.0.downsample.0.weight", "layer4.1.bn2.bias", "fc.weight"} <= names  # fmt: skip
    assert net(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_resnet_picks_the_small_image_stem_for_small_scenes() -> None:
    small = ResNet((1, 28, 28), 10)
    assert small.conv1.kernel_size == (3, 3) and small.conv1.stride == (1, 1)
    assert isinstance(small.maxpool, nn.Identity)
    assert ResNet((1, 96, 96), 10).conv1.kernel_size == (7, 7)


@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 64, 48)])
def test_it_builds_from_the_scene_shape_and_gives_a_vector_of_num_classes(in_shape) -> None:
    net = ResNet(in_shape, 5, width=0.0625)
    assert ResNet.outputs == frozenset({"vector"})
    assert net.conv1.in_channels == in_shape[0]
    assert net(torch.rand(2, *in_shape)).shape == (2, 5)


def test_the_width_multiplies_the_four_stages_with_at_least_4_channels() -> None:
    net = ResNet((1, 28, 28), 10, width=0.125)
    stages = [getattr(net, f"layer{i}")[-1].conv2.out_channels for i in (1, 2, 3, 4)]
    assert stages == [8, 16, 32, 64] and net.fc.in_features == 64
    tiny = ResNet((1, 28, 28), 10, width=0.0625)
    assert [getattr(tiny, f"layer{i}")[-1].conv2.out_channels for i in (1, 2, 3, 4)] == [
        4, 8, 16, 32,
    ]  # fmt: skip
    assert [len(getattr(ResNet((1, 28, 28), 10, depth=34, width=0.0625), f"layer{i}"))
            for i in (1, 2, 3, 4)] == [3, 4, 6, 3]  # fmt: skip


def test_the_stem_can_be_forced_either_way() -> None:
    assert ResNet((1, 28, 28), 10, stem="imagenet", width=0.0625).conv1.kernel_size == (7, 7)
    small = ResNet((3, 224, 224), 10, stem="small", width=0.0625)
    assert small.conv1.stride == (1, 1) and isinstance(small.maxpool, nn.Identity)


def test_pretrained_weights_load_by_name_with_rgb_filters_summed_for_one_channel(tmp_path) -> None:
    torch.manual_seed(0)
    source = ResNet((3, 28, 28), 1000, width=0.125)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    gray = ResNet((1, 28, 28), 10, width=0.125, weights=str(path))
    assert torch.allclose(gray.conv1.weight, source.conv1.weight.sum(1, keepdim=True))
    assert torch.equal(gray.layer3[1].conv2.weight, source.layer3[1].conv2.weight)
    assert torch.equal(gray.layer2[0].bn1.running_var, source.layer2[0].bn1.running_var)
    assert gray.fc.out_features == 10  # the head stays new
    four = ResNet((4, 28, 28), 10, width=0.125, weights=str(path))
    expected = source.conv1.weight.mean(1, keepdim=True).repeat(1, 4, 1, 1) * 3 / 4
    assert torch.allclose(four.conv1.weight, expected)


def test_weights_that_fit_nothing_or_are_no_state_dict_are_refused(tmp_path) -> None:
    path = tmp_path / "wide.pth"
    torch.save(ResNet((3, 28, 28), 10, width=0.25).state_dict(), path)
    with pytest.raises(ValueError, match="no tensor fits this ResNet"):
        ResNet((3, 28, 28), 10, width=0.125, weights=str(path))
    junk = tmp_path / "junk.pth"
    junk.write_text("not a state dict")
    with pytest.raises(ValueError, match="is not a readable state_dict"):
        ResNet((3, 28, 28), 10, width=0.125, weights=str(junk))
