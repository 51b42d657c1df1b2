"""A config read from a file is data, never code.

``hydra.utils.instantiate`` calls whatever ``_target_`` names: ``builtins.open`` truncates a
file, ``numpy.save`` writes one. A checkpoint or a run folder that someone sent you carries
its own config, so before anything is built from such a config every ``_target_`` in it
must be one that deepimg's own ``conf/`` can produce, or one of an explicit allowlist:

* torch's optimizers and learning-rate schedulers (``torch.optim.*``);
* Lightning's ``Trainer``;
* deepimg's own classes.

The check reads names only: it imports nothing outside ``torch.optim`` and ``deepimg``
before a target has been found acceptable, since importing a module can itself run code.
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

from deepimg.config.received import foreign_resolvers, parse_yaml, read_yaml
from deepimg.errors import UserError

TRAINER = "pytorch_lightning.Trainer"
# Modules that moved (deepimg 0.1.0's first layout -> commands/, config/, training/): runs
# made before the move name their targets by the old path.
MOVED = {
    "deepimg.regularization.": "deepimg.training.regularization.",
    "deepimg.schedules.": "deepimg.training.schedules.",
}


@cache
def conf_targets() -> frozenset[str]:
    """Every ``_target_`` written in deepimg's own ``conf/`` YAML files, except its presets
    of Hydra's launchers and sweepers (``conf/hydra/``): Hydra builds those, deepimg never does."""
    from deepimg.config.compose import conf_dir

    found: set[str] = set()
    for path in conf_dir().rglob("*.yaml"):
        if path.relative_to(conf_dir()).parts[0] == "hydra":
            continue
        found.update(_targets_in(yaml.safe_load(path.read_text())))
    return frozenset(found)


def _targets_in(tree: Any) -> Iterator[str]:
    if isinstance(tree, dict):
        if isinstance(tree.get("_target_"), str):
            yield tree["_target_"]
        for value in tree.values():
            yield from _targets_in(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _targets_in(value)


def is_allowed(target: str) -> bool:
    """Whether ``target`` may be instantiated from a config that came from a file."""
    if target in conf_targets() or target == TRAINER:
        return True
    module_name, _, name = target.rpartition(".")
    if module_name in ("torch.optim", "torch.optim.lr_scheduler"):
        import torch

        obj = getattr(importlib.import_module(module_name), name, None)
        bases = (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler)
        return inspect.isclass(obj) and issubclass(obj, bases)
    if module_name == "deepimg" or module_name.startswith("deepimg."):
        try:
            obj = getattr(importlib.import_module(module_name), name, None)
        except ImportError:
            return False
        # Classes only: a deepimg function such as runs.write_metrics writes where it is told.
        return inspect.isclass(obj) and obj.__module__.startswith("deepimg.")
    return False


def target_values(cfg: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, raw value)`` of every ``_target_`` anywhere in ``cfg``, Hydra's keys too."""
    if isinstance(cfg, DictConfig):
        for key in cfg:
            full = f"{path}.{key}" if path else str(key)
            node = cfg._get_node(key)
            if key == "_target_":
                yield full, node._value()  # unresolved: an interpolation is refused below
            else:
                yield from target_values(node, full)
    elif isinstance(cfg, ListConfig):
        for i in range(len(cfg)):
            yield from target_values(cfg._get_node(i), f"{path}[{i}]")


def check_targets(cfg: DictConfig, source: str | Path) -> None:
    """Raise UserError naming the first ``_target_`` of ``cfg`` that deepimg would not build."""
    for path, target in target_values(cfg):
        if not isinstance(target, str) or "${" in target or not is_allowed(target):
            raise UserError(
                f"{source} asks to build {path}={target!r}, which deepimg's configs never "
                "build; refusing to run code from a file"
            )


def load_untrusted(text_or_path: str | Path, source: str | Path) -> DictConfig:
    """A config from a file or a checkpoint's embedded text, checked before anyone builds it:
    read within the limits of ``deepimg.config.received`` (a regular file, a size and an
    alias cap), with no interpolation that deepimg's configs never use (``${oc.env:...}``
    would read this machine's environment), and no ``_target_`` outside the allowlist."""
    if isinstance(text_or_path, Path):
        tree = read_yaml(text_or_path)
    else:
        tree = parse_yaml(text_or_path, source)
    if not isinstance(tree, dict):
        raise UserError(f"{source} holds no config mapping (found a {type(tree).__name__})")
    special = hydra_special_keys(tree)
    if special:
        raise UserError(
            f"{source} sets {special[0]}, which deepimg's configs never use (it passes "
            "arguments to what the config builds); refusing it"
        )
    foreign = foreign_resolvers(tree)
    if foreign:
        raise UserError(
            f"{source} uses the interpolation ${{{foreign[0]}:...}}, which deepimg's configs "
            "never use (it could read this machine's environment or files); refusing it"
        )
    try:
        cfg = OmegaConf.create(tree)
    except Exception as err:  # OmegaConf raises many types; all mean "unreadable"
        reason = textwrap.shorten(str(err), 160, placeholder=" ...")
        raise UserError(f"{source} holds no readable config ({reason})") from None
    follow_moves(cfg)
    check_targets(cfg, source)
    return cfg


ALLOWED_SPECIAL = {"_target_", "_partial_", "_recursive_", "_convert_"}  # what conf/ uses


def hydra_special_keys(tree: Any, path: str = "") -> list[str]:
    """Hydra's ``_xxx_`` keys in a received config that deepimg's own configs never set
    (``_args_``: positional arguments to what is built), as dotted paths."""
    found: list[str] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            full = f"{path}.{key}" if path else str(key)
            text = str(key)
            if text.startswith("_") and text.endswith("_") and text not in ALLOWED_SPECIAL:
                found.append(full)
            found += hydra_special_keys(value, full)
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            found += hydra_special_keys(value, f"{path}[{i}]")
    return found


def follow_moves(cfg: DictConfig) -> None:
    """Rewrite targets of modules that moved (``MOVED``) to their present path, in place."""
    for path, target in list(target_values(cfg)):
        for old, new in MOVED.items():
            if isinstance(target, str) and target.startswith(old):
                OmegaConf.update(cfg, path, new + target.removeprefix(old), merge=False)
