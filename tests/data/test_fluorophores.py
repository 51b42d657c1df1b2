"""Scenes of K fluorophores from grayscale images: mixtures for unmixing, one for naming."""

from __future__ import annotations

import pytest
import torch

from deepimg.data.digits import Digits


def test_mixture_scenes_stack_k_different_real_images() -> None:
    plain, mixed = Digits(), Digits(fluorophores=3)
    plain.setup()
    mixed.setup()
    assert mixed.in_shape == (3, 8, 8) and plain.in_shape == (1, 8, 8)
    images = mixed.train.images
    assert torch.equal(images[:, :1], plain.train.images)  # channel 0: the image itself
    assert not torch.equal(images[:, 1], images[:, 0]) and not torch.equal(
        images[:, 2], images[:, 1]
    )
    assert torch.equal(mixed.train.labels, plain.train.labels)
    again = Digits(fluorophores=3)
    again.setup()
    assert torch.equal(again.test.images, mixed.test.images)  # seeded


def test_one_fluorophore_scenes_are_labelled_by_their_channel() -> None:
    data = Digits(fluorophores=4, fluorophore_scenes="one")
    data.setup()
    images, labels = data.train.images, data.train.labels
    assert data.num_classes == 4 and data.class_names[0] == "fluorophore 0"
    lit = images.flatten(2).amax(dim=2) > 0  # which channels hold light
    assert (lit.sum(dim=1) <= 1).all()
    has_light = lit.any(dim=1)
    assert torch.equal(lit[has_light].float().argmax(dim=1), labels[has_light])
    assert len(labels.unique()) == 4


def test_a_colour_source_is_refused_in_one_line() -> None:
    from deepimg.data.patches import Patches
    from deepimg.errors import UserError

    with pytest.raises(UserError, match="dataset.fluorophores needs a grayscale dataset"):
        Patches(fluorophores=2).setup()
