"""From a composed config to the objects of one run: data, physics, network, module, trainer."""

from __future__ import annotations

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from deepimg.data.datamodule import ImageDataModule
from deepimg.errors import UserError
from deepimg.training.module import ImagingModule


def build_datamodule(cfg: DictConfig) -> ImageDataModule:
    augmentation = instantiate(cfg.augmentation) if cfg.get("augmentation") else None
    return instantiate(cfg.dataset, augmentation=augmentation, _convert_="all")


def build(node: DictConfig, **kwargs):
    """``instantiate``, with a constructor's ValueError (values that do not fit together,
    found only once the data's shape is known) turned into a one-line UserError."""
    try:
        return instantiate(node, **kwargs, _convert_="all")
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, (ValueError, UserError)):
            raise UserError(f"{node._target_}: {cause}") from None
        raise


def build_module(cfg: DictConfig, datamodule: ImageDataModule) -> ImagingModule:
    """The physics sized from the data, and the network sized from the physics' output."""
    physics = build(cfg.physical_layer, in_shape=datamodule.in_shape)
    network = build(cfg.model, in_shape=physics.out_shape, num_classes=datamodule.num_classes)
    return ImagingModule(
        physics=physics,
        network=network,
        num_classes=datamodule.num_classes,
        optimizer=instantiate(cfg.optimizer, _convert_="all"),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        regularization=instantiate(cfg.regularization, _convert_="all"),
        physics_lr=cfg.get("physics_lr"),
    )
