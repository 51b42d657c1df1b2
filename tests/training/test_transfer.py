"""Transfer learning: init_from loads what fits and says what it skipped; frozen parts do
not move; the head can have its own learning rate; ImageNet weights load into a ResNet."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.models.resnet import ResNet
from deepimg.training.build import build_datamodule, build_module


def module_for(*overrides: str):
    cfg = config.compose(["dataset=digits", *overrides])
    data = build_datamodule(cfg)
    return build_module(cfg, data), data


def save_ckpt(module, path: Path) -> Path:
    torch.save({"deepimg": {"version": "test"}, "state_dict": module.state_dict()}, path)
    return path


def test_init_from_loads_what_fits_and_reports_the_rest(tmp_path: Path) -> None:
    source, _ = module_for("model.fc=[128]")
    ckpt = save_ckpt(source, tmp_path / "source.ckpt")
    target, _ = module_for("model.fc=[64]", f"init_from={ckpt}")
    report = target.transfer
    assert "features.0.weight" in report.loaded and "head.2.weight" not in report.loaded
    assert any(s.startswith("head.2.weight (shape") for s in report.skipped)
    assert any(s.startswith("head.5.weight (the head is new)") for s in report.skipped)
    assert torch.equal(target.network.features[0].weight, source.network.features[0].weight)
    assert (
        f"loaded {len(report.loaded)} network tensors, skipped {len(report.skipped)}"
        in report.summary()
    )


def test_frozen_parts_do_not_move_and_the_head_has_its_own_lr() -> None:
    module, data = module_for("freeze=features", "head_lr=0.5")
    groups = module.parameter_groups()
    last = module.network.head[-1]
    assert [g.get("lr") for g in groups] == [None, 0.5]
    assert {id(p) for p in groups[1]["params"]} == {id(last.weight), id(last.bias)}
    before = {n: p.detach().clone() for n, p in module.network.named_parameters()}
    optimizer = torch.optim.SGD(groups, lr=0.1)
    batch = next(iter(data.train_dataloader()))
    module.task.loss(module(batch[0]), module.task.target(batch)).backward()
    optimizer.step()
    for name, p in module.network.named_parameters():
        moved = not torch.equal(p, before[name])
        assert moved == (not name.startswith("features.")), name


def test_freezing_an_unknown_part_or_everything_is_one_line() -> None:
    with pytest.raises(
        UserError, match="body is not a part of this network; accepted: features, head"
    ):
        module_for("freeze=body")
    with pytest.raises(UserError, match="leaves nothing to train"):
        module_for("freeze=[features,head]")


def test_imagenet_weights_load_by_name_with_the_first_conv_summed_for_gray(tmp_path) -> None:
    imagenet = ResNet((3, 224, 224), 1000, width=1.0)  # torchvision's resnet18, by shape
    torch.save(imagenet.state_dict(), tmp_path / "resnet18.pth")
    gray = ResNet(
        (1, 32, 32), 10, width=1.0, stem="imagenet", weights=str(tmp_path / "resnet18.pth")
    )
    assert torch.allclose(gray.conv1.weight, imagenet.conv1.weight.sum(1, keepdim=True))
    assert torch.equal(gray.layer3[1].conv2.weight, imagenet.layer3[1].conv2.weight)
    assert gray.fc.out_features == 10  # a new head
    with pytest.raises(ValueError, match="no tensor fits this ResNet"):
        ResNet((1, 32, 32), 10, width=0.25, weights=str(tmp_path / "resnet18.pth"))
