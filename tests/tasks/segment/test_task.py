"""Localisation and segmentation: metrics against hand-computed values, the heads, every
physical layer under both tasks, and segmentation folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchmetrics.segmentation import DiceScore, MeanIoU

from deepimg.config import compose as config
from deepimg.data.folder import ImageFolder
from deepimg.errors import UserError
from deepimg.tasks.localize.task import PositionError, soft_argmax
from deepimg.tasks.segment.task import silhouettes, soft_dice_loss
from deepimg.training.build import build_datamodule, build_module
from tests.conftest import run_cli
from tests.tasks.test_restore import LEARN
from tests.test_cli_errors import assert_one_line_error


def test_error_px_and_within_2px_of_known_offsets() -> None:
    target = torch.zeros(4, 2)
    preds = torch.tensor([[3.0, 4.0], [1.0, 0.0], [0.0, -2.0], [0.0, 0.0]])
    assert float(PositionError()(preds, target)) == pytest.approx((5 + 1 + 2 + 0) / 4)
    assert float(PositionError(within=2.0)(preds, target)) == pytest.approx(3 / 4)


def test_soft_argmax_finds_a_sharp_peak_and_the_centre_of_a_flat_map() -> None:
    heat = torch.full((2, 1, 7, 9), -50.0)
    heat[0, 0, 2, 6] = 50.0
    heat[1] = 0.0
    assert torch.allclose(soft_argmax(heat), torch.tensor([[2.0, 6.0], [3.0, 4.0]]), atol=1e-4)


def test_dice_and_iou_of_known_masks_including_empty_ones() -> None:
    truth = torch.zeros(2, 4, 4, dtype=torch.long)
    truth[0, :2] = 1  # 8 object pixels; image 1 has none
    predicted = truth.clone()
    predicted[0, 0] = 0  # 4 of the 8 found, none extra
    dice = DiceScore(2, include_background=False, input_format="index")(predicted, truth)
    iou = MeanIoU(2, include_background=False, input_format="index")(predicted, truth)
    assert float(dice) == pytest.approx(2 * 4 / (4 + 8))  # the empty image does not count
    assert float(iou) == pytest.approx(4 / 8)
    assert float(soft_dice_loss(torch.tensor([[-9.0, 9.0]]).view(1, 2, 1, 1).expand(1, 2, 2, 2),
                                torch.ones(1, 2, 2, dtype=torch.long))) < 0.01  # fmt: skip


def test_silhouettes_threshold_the_clean_scene() -> None:
    scenes = torch.tensor([[[[0.05, 0.2], [0.1, 0.9]]]])
    assert silhouettes(scenes, 0.1).tolist() == [[[0, 1], [0, 1]]]


# ---- every physical layer under both tasks -------------------------------------------------


@pytest.fixture(scope="module")
def colour_canvas():
    cfg = config.compose(
        ["dataset=patches", "dataset.patch=16", "dataset.train_patches=64", "dataset.val_patches=16",
         "dataset.test_patches=16", "dataset.canvas=24"]
    )  # fmt: skip
    return build_datamodule(cfg)


@pytest.fixture(scope="module")
def colour_patches():
    cfg = config.compose(
        ["dataset=patches", "dataset.patch=16", "dataset.train_patches=64", "dataset.val_patches=16",
         "dataset.test_patches=16"]
    )  # fmt: skip
    return build_datamodule(cfg)


@pytest.mark.parametrize("task", ["localize", "segment"])
@pytest.mark.parametrize("layer", config.groups()["physical_layer"])
def test_every_layer_trains_a_batch_of_each_task(
    layer, task, colour_canvas, colour_patches
) -> None:
    data = colour_canvas if task == "localize" else colour_patches
    overrides = [
        f"task={task}",
        "dataset=patches",
        f"physical_layer={layer}",
        *LEARN.get(layer, []),
    ]
    if task == "localize":
        overrides += ["dataset.canvas=24", "model=cnn"]
    if layer in ("downsample", "pixel_layout"):
        overrides.append("physical_layer.pixels=8")
    if layer == "sensor":
        overrides.append("physical_layer.parts.downsample.pixels=8")
    module = build_module(config.compose(overrides), data)
    batch = next(iter(data.train_dataloader()))
    module.train()
    with torch.no_grad():  # as after a first step: a zero-initialised last layer passes no gradient
        for p in module.network.parameters():
            p.add_(0.01 * torch.randn_like(p))
    prediction = module(batch[0])
    expected = (len(batch[0]), 2) if task == "localize" else (len(batch[0]), 2, 16, 16)
    assert prediction.shape == expected
    loss = module.task.loss(prediction, module.task.target(batch))
    assert torch.isfinite(loss)
    loss.backward()
    for name, p in module.named_parameters():
        if p.requires_grad and name.startswith("physics."):
            assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {name}"


def test_a_unet_localises_through_a_heat_map(colour_canvas) -> None:
    cfg = config.compose(["task=localize", "dataset=patches", "dataset.canvas=24", "model=unet"])
    module = build_module(cfg, colour_canvas).eval()
    scenes = next(iter(colour_canvas.test_dataloader()))[0]
    # the heat map starts flat (the last layer is zero): every answer is the canvas centre
    assert torch.allclose(module(scenes), torch.full((len(scenes), 2), 11.5), atol=1e-4)


def test_localize_without_a_canvas_gets_one_twice_the_scene_side() -> None:
    cfg = config.compose(["task=localize", "dataset=digits"])
    data = build_datamodule(cfg)
    module = build_module(cfg, data)
    assert data.in_shape == (1, 16, 16) and module.task.size == 16
    batch = next(iter(data.train_dataloader()))
    assert batch[0].shape[-2:] == (16, 16) and batch[2]["position"].max() <= 16 - 4.5


@pytest.mark.parametrize(
    ("overrides", "exact"),
    [([], False), (["physical_layer=quantize", "physical_layer.bits=8"], True)],
)
def test_segmentation_defaults_to_a_blurring_sensor_that_thresholding_cannot_undo(
    overrides: list[str], exact: bool
) -> None:
    """Through the 8-bit ADC (the other tasks' default) thresholding the measurement is
    exact; the segmentation default blurs, so the baseline errs, and the command line wins."""
    cfg = config.compose(["task=segment", "dataset=digits", *overrides])
    data = build_datamodule(cfg)
    module = build_module(cfg, data)
    scenes = next(iter(data.train_dataloader()))[0]
    truth = module.task.target((scenes,))
    guess = module.task.baseline(module.infer(scenes).network_input)
    assert (type(module.physics).__name__ == "Blur") != exact
    assert bool((guess == truth).all()) == exact


# ---- segmentation folders -----------------------------------------------------------------


def segmentation_folder(root: Path, n: int = 10, classes: int = 2) -> Path:
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        image = rng.integers(0, 256, (12, 12), dtype=np.uint8)
        mask = np.zeros((12, 12), dtype=np.uint8)
        mask[2:8, 3 : 3 + i % 6 + 1] = 255 if classes == 2 else 1
        if classes > 2:
            mask[9:, :4] = 2
        Image.fromarray(image).save(root / "images" / f"cell{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"cell{i}.png")
    return root


def test_a_folder_of_images_and_masks(tmp_path: Path) -> None:
    data = ImageFolder(
        root=str(segmentation_folder(tmp_path / "seg")),
        cache=False,
        test_fraction=0.2,
        val_fraction=0.2,
    )
    data.setup()
    assert (len(data.train), len(data.val), len(data.test)) == (6, 2, 2)
    batch = data.train[list(range(6))]
    assert batch[0].shape == (6, 1, 12, 12) and batch[2]["mask"].shape == (6, 12, 12)
    assert set(batch[2]["mask"].unique().tolist()) == {0, 1}  # 0/255 masks read as 0/1
    three = ImageFolder(
        root=str(segmentation_folder(tmp_path / "three", classes=3)), num_classes=3, cache=False
    )
    three.setup()
    assert set(three.train.masks.unique().tolist()) == {0, 1, 2}


def test_missing_partners_are_named_with_exit_status_2(tmp_path: Path) -> None:
    root = segmentation_folder(tmp_path / "seg")
    (root / "masks" / "cell3.png").unlink()
    result = run_cli(
        "train", "task=segment", "dataset=folder", f"dataset.root={root}", cwd=tmp_path
    )
    assert_one_line_error(result, "cell3.png", "has no mask")
    root2 = segmentation_folder(tmp_path / "seg2")
    (root2 / "images" / "cell4.png").unlink()
    result = run_cli(
        "train", "task=segment", "dataset=folder", f"dataset.root={root2}", cwd=tmp_path
    )
    assert_one_line_error(result, "cell4.png", "has no image")
    assert not (tmp_path / "outputs").exists()


def test_a_mask_with_too_many_classes_is_refused(tmp_path: Path) -> None:
    root = segmentation_folder(tmp_path / "seg", classes=3)
    with pytest.raises(UserError, match="holds class 2; set dataset.num_classes"):
        ImageFolder(root=str(root), cache=False).setup()
