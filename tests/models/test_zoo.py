"""The model zoo: documented shapes and parameter counts, initialisation statistics,
squeeze-excitation, and the classification losses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.models.cnn import CNN
from deepimg.models.densenet import DenseNet
from deepimg.models.init import init_weights
from deepimg.models.layers import SqueezeExcitation
from deepimg.models.lenet import LeNet5
from deepimg.models.resnet import ResNet
from deepimg.tasks.classify.task import balanced_weights, focal_loss
from deepimg.training.build import build_datamodule, build_module


def n_params(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


def test_lenet5_has_the_documented_layer_shapes() -> None:
    net = LeNet5((1, 28, 28), 10)
    shapes, x = [], torch.zeros(2, 1, 28, 28)
    for layer in net.features:
        x = layer(x)
        if not isinstance(layer, nn.Tanh):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
    linears = [(m.in_features, m.out_features) for m in net.head if isinstance(m, nn.Linear)]
    assert linears == [(400, 120), (120, 84), (84, 10)]
    assert LeNet5((1, 32, 32), 10).features[0].padding == (0, 0)  # LeCun's own 32x32 input


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


def test_densenet_grows_by_the_growth_rate_and_compresses_at_transitions() -> None:
    net = DenseNet((1, 28, 28), 10, growth=4, blocks=[2, 3], compression=0.5)
    # stem 8 maps; block 1: 8 + 2*4 = 16; transition to 8; block 2: 8 + 3*4 = 20
    assert net.head[-1].in_features == 20
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize(
    ("scheme", "expected_std"),
    [
        ("kaiming_normal", lambda fi, fo: math.sqrt(2 / fi)),
        ("xavier_normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
        ("normal", lambda fi, fo: 0.05),
    ],
)
def test_init_schemes_give_the_expected_weight_statistics(scheme, expected_std) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(400, 300), nn.Conv2d(16, 32, 5))
    init_weights(net, scheme, std=0.05)
    for layer, (fan_in, fan_out) in zip(net, [(400, 300), (16 * 25, 32 * 25)], strict=True):
        std = float(layer.weight.detach().std())
        assert std == pytest.approx(expected_std(fan_in, fan_out), rel=0.05)
        assert float(layer.weight.detach().mean()) == pytest.approx(0, abs=0.01)
        assert torch.count_nonzero(layer.bias) == 0


def test_uniform_and_orthogonal_schemes_and_the_config_key() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(200, 100))
    init_weights(net, "kaiming_uniform")
    bound = math.sqrt(6 / 200)  # He uniform: U(-b, b), b = sqrt(6 / fan_in)
    assert float(net[0].weight.abs().max()) <= bound
    assert float(net[0].weight.abs().max()) > 0.95 * bound
    init_weights(net, "orthogonal")
    w = net[0].weight
    assert torch.allclose(w @ w.T, torch.eye(100), atol=1e-5)
    cfg = config.compose(["dataset=digits", "model=lenet", "model.init=xavier_uniform"])
    network = build_module(cfg, build_datamodule(cfg)).network
    assert all(
        torch.count_nonzero(m.bias) == 0 for m in network.modules() if isinstance(m, nn.Linear)
    )


def test_focal_loss_with_gamma_0_is_cross_entropy_weighted_or_not() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(32, 5), torch.randint(0, 5, (32,))
    weight = torch.rand(5) + 0.5
    assert torch.allclose(focal_loss(logits, target, 0.0), F.cross_entropy(logits, target))
    assert torch.allclose(
        focal_loss(logits, target, 0.0, weight), F.cross_entropy(logits, target, weight=weight)
    )
    assert focal_loss(logits, target, 2.0) < F.cross_entropy(logits, target)  # easy ones count less


def test_balanced_weights_are_inversely_proportional_to_the_class_counts() -> None:
    counts = torch.tensor([10, 20, 40, 80])
    weights = balanced_weights(counts)
    assert torch.allclose(weights * counts, torch.full((4,), float(weights[0] * 10)))
    assert torch.allclose(balanced_weights(torch.tensor([7, 7, 7])), torch.ones(3))
    cfg = config.compose(["dataset=digits", "task.class_weights=balanced"])
    data = build_datamodule(cfg)
    task = build_module(cfg, data).task
    counts = data.train.labels.bincount()
    assert torch.allclose(task.weight * counts, (task.weight * counts)[0].expand(10))


def test_class_weights_of_the_wrong_length_and_focal_smoothing_are_one_line() -> None:
    cfg = config.compose(["dataset=digits", "task.class_weights=[1,2]"])
    with pytest.raises(UserError, match="class_weights has 2 values; this dataset has 10"):
        build_module(cfg, build_datamodule(cfg))
    cfg = config.compose(["dataset=digits", "task.loss=focal", "task.label_smoothing=0.1"])
    with pytest.raises(UserError, match="label_smoothing applies to loss=cross_entropy"):
        build_module(cfg, build_datamodule(cfg))
