"""Every base dataset trains through the CLI offline, and combines with every physical layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from deepimg.config import compose as config
from deepimg.errors import UserError
from deepimg.training.build import build, build_datamodule, build_module
from tests.config.test_config import COLOUR_ONLY
from tests.conftest import QUICK, run_cli
from tests.data.test_folder import kaggle_tree
from tests.data.test_medmnist import write_npz


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory, fmnist_root: Path) -> dict[str, list[str]]:
    """Overrides that point each dataset at small files made here (MNIST reuses the IDX subset)."""
    base = tmp_path_factory.mktemp("datasets")
    write_npz(base / "bloodmnist.npz")
    return {
        "digits": [],
        "mnist": [f"dataset.root={fmnist_root}"],
        "folder": [
            f"dataset.root={kaggle_tree(base)}",
            "dataset.img_size=16",
            "dataset.channels=3",
        ],
        "medmnist": [f"dataset.root={base}"],
    }


# The 8x8 digits scene is smaller than the default 14x14 sensor; such a sensor is refused
# (tests/physics/test_downsample.py), so these layers get one that fits.
SMALL_SENSOR = {
    "downsample": ["physical_layer.pixels=4"],
    "pixel_layout": ["physical_layer.pixels=4"],
    "sensor": ["physical_layer.parts.downsample.pixels=4"],
}


@pytest.mark.parametrize("dataset", ["digits", "mnist", "folder", "medmnist"])
@pytest.mark.parametrize("layer", config.groups()["physical_layer"])
def test_dataset_and_physical_layer_build_and_run(
    roots, dataset: str, layer: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("DEEPIMG_DATA", str(tmp_path))
    small = SMALL_SENSOR.get(layer, []) if dataset == "digits" else []
    # Fluorescence reads K concentration maps: three fluorophores from a grayscale source
    # (the colour sources' three channels serve as three maps as they are).
    gray = dataset in ("digits", "mnist")
    maps = ["dataset.fluorophores=3"] if layer == "fluorescence" and gray else []
    cfg = config.compose(
        [f"dataset={dataset}", f"physical_layer={layer}", *roots[dataset], *small, *maps]
    )
    config.check_config(cfg)
    datamodule = build_datamodule(cfg)
    if layer in COLOUR_ONLY and datamodule.channels == 1:
        with pytest.raises(UserError, match="channel"):
            build_module(cfg, datamodule)
        return
    module = build_module(cfg, datamodule)
    scenes, labels = next(iter(datamodule.train_dataloader()))
    logits = module(scenes)
    assert logits.shape == (len(labels), datamodule.num_classes) and torch.isfinite(logits).all()
    assert (
        build(cfg.physical_layer, in_shape=datamodule.in_shape).out_shape
        == module.physics.out_shape
    )


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["digits", "mnist", "folder", "medmnist"])
def test_dataset_trains_through_the_cli(roots, dataset: str, tmp_path: Path) -> None:
    args = ["train", f"dataset={dataset}", "bits=4", *roots[dataset], *QUICK, "hydra.run.dir=run"]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and 0 <= metrics["test/acc"] <= 1
    balance = (tmp_path / "run" / "class_balance.csv").read_text().splitlines()
    assert balance[0] == "class,train,val,test" and len(balance) > 2


def test_more_adc_bits_than_the_source_has_is_warned(caplog) -> None:
    from deepimg.commands.train import warn_if_finer_than_source

    datamodule = build_datamodule(config.compose(["dataset=digits"]))  # about 4 bits per pixel
    assert datamodule.bit_depth == 5
    for bits, warned in ((8, True), (5, False), (2, False)):
        caplog.clear()
        module = build_module(
            config.compose(["dataset=digits", f"physical_layer.bits={bits}"]), datamodule
        )
        warn_if_finer_than_source(module, datamodule)
        assert any("source images have only 5" in r.getMessage() for r in caplog.records) == warned
