"""From a composed config to the objects of one run: data, physics, network, module, trainer."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from deepimg.data.datamodule import ImageDataModule
from deepimg.module import ImagingModule


def build_datamodule(cfg: DictConfig) -> ImageDataModule:
    augmentation = instantiate(cfg.augmentation) if cfg.get("augmentation") else None
    return instantiate(cfg.dataset, augmentation=augmentation, _convert_="all")


def build_module(cfg: DictConfig, datamodule: ImageDataModule) -> ImagingModule:
    """The physics sized from the data, and the network sized from the physics' output."""
    physics = instantiate(cfg.physical_layer, in_shape=datamodule.in_shape, _convert_="all")
    network = instantiate(
        cfg.model, in_shape=physics.out_shape, num_classes=datamodule.num_classes, _convert_="all"
    )
    return ImagingModule(
        physics=physics,
        network=network,
        num_classes=datamodule.num_classes,
        optimizer=instantiate(cfg.optimizer, _convert_="all"),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        regularization=instantiate(cfg.regularization, _convert_="all"),
    )
