"""deepimg's shorthands: integer ranges and short keys."""

from __future__ import annotations

import pytest

from deepimg.config import compose as config
from deepimg.config.overrides import expand_range, expand_ranges, expand_short_keys, resolve_key
from deepimg.config.sweeps import sweep_variants
from deepimg.errors import UserError


def test_range_is_inclusive() -> None:
    assert expand_range("1..8") == "1,2,3,4,5,6,7,8"


def test_range_with_step() -> None:
    assert expand_range("0..10:5") == "0,5,10"
    assert expand_range("1..8:3") == "1,4,7"


def test_non_ranges_are_left_alone() -> None:
    assert (
        expand_range("1.5") is None and expand_range("a..b") is None and expand_range("1,2") is None
    )


@pytest.mark.parametrize("bad", ["8..1", "1..8:0"])
def test_empty_ranges_are_errors(bad: str) -> None:
    with pytest.raises(UserError, match="empty"):
        expand_range(bad)


def test_a_range_implies_multirun_and_keeps_other_args() -> None:
    args, found = expand_ranges(["physical_layer=quantize", "bits=1..8", "seed=0,1"])
    assert found and args == ["physical_layer=quantize", "bits=1,2,3,4,5,6,7,8", "seed=0,1"]
    assert expand_ranges(["bits=3"]) == (["bits=3"], False)


def expand(*args: str) -> list[str]:
    return expand_short_keys(list(args), config.groups(), config.compose)


def test_short_key_names_its_unique_leaf() -> None:
    assert expand("physical_layer=quantize", "bits=1,2", "lr=0.01", "depth=3") == [
        "physical_layer=quantize",
        "physical_layer.bits=1,2",
        "optimizer.lr=0.01",
        "model.depth=3",
    ]


def test_short_key_follows_the_group_choice() -> None:
    assert expand("optimizer=sgd", "momentum=0.8") == ["optimizer=sgd", "optimizer.momentum=0.8"]


def test_full_keys_groups_and_hydra_keys_pass_through() -> None:
    args = ["seed=1", "model.depth=3", "dataset=fashion_mnist", "hydra.run.dir=x", "+extra=1", "-m"]
    assert expand(*args) == args


def test_dotted_suffix_is_a_short_key_too() -> None:
    assert expand("trainer.max_epochs=1", "early_stopping.x=1")[0] == "trainer.max_epochs=1"
    assert resolve_key("b.c", ["a.b.c", "a.d"], []) == "a.b.c"


def test_ambiguous_short_key_lists_every_leaf() -> None:
    with pytest.raises(UserError) as err:
        resolve_key("lr", ["optimizer.lr", "physics.lr", "model.depth"], [])
    assert "optimizer.lr" in str(err.value) and "physics.lr" in str(err.value)


def test_unknown_short_key_is_left_for_hydra_to_reject() -> None:
    assert expand("bitz=3") == ["bitz=3"]


def test_sweep_variants_cover_every_value_once() -> None:
    variants = sweep_variants(["physical_layer.bits=1,2,3", "seed=0,1", "model.depth=2"])
    bits = {v[0] for v in variants}
    seeds = {v[1] for v in variants}
    assert bits == {"physical_layer.bits=1", "physical_layer.bits=2", "physical_layer.bits=3"}
    assert seeds == {"seed=0", "seed=1"}
    assert all(v[2] == "model.depth=2" for v in variants)
    assert len(variants) == 1 + 2 + 1


def test_keys_that_start_at_a_group_compose_nothing() -> None:
    """``trainer.max_epochs=1`` is a full path already: no config is composed to look it up
    (a quarter of a second of every run)."""

    def compose(_overrides):
        raise AssertionError("composed a config for full paths")

    args = ["task=restore", "trainer.max_epochs=1", "dataset.train_size=1000", "hydra.run.dir=x"]
    assert expand_short_keys(args, config.groups(), compose) == args
    with pytest.raises(AssertionError, match="composed"):  # a short key still looks it up
        expand_short_keys(["bits=3"], config.groups(), compose)
