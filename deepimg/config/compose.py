"""Where the configs live, how they compose, and the check that every value is accepted.

Types and ranges are declared once, in the signatures of the classes the configs
instantiate (``bits: Annotated[int, Range(1, 16)]`` in ``Quantize.__init__``). The check
reads them, so a bad value fails before any work starts, with a message naming it.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from omegaconf import DictConfig, ListConfig, OmegaConf

from deepimg.config.constraints import Range, accepts, describe
from deepimg.errors import UserError


def conf_dir() -> Path:
    """``conf/``: inside the installed package, or beside it in a source checkout."""
    package = Path(__file__).resolve().parents[1]  # deepimg/
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise RuntimeError(f"deepimg's conf/ folder is missing beside {package}")


def groups() -> dict[str, list[str]]:
    """Config groups and their options, as `deepimg train --help` lists them (``conf/hydra/``
    holds presets of Hydra's own groups: ``hydra/launcher=slurm``, ``hydra/sweeper=optuna``)."""
    root = conf_dir()
    return {
        d.name: sorted(f.stem for f in d.glob("*.yaml"))
        for d in sorted(root.iterdir())
        if d.is_dir() and not d.name.startswith(("_", ".")) and d.name != "hydra"
    }


def one_line(err: BaseException) -> str:
    """A composition error as one line; Hydra's own messages span several."""
    options = getattr(err, "options", None)
    missing = getattr(err, "missing_cfg_file", None)
    if options and missing:  # unknown option of a config group
        group, _, option = str(missing).rpartition("/")
        return f"unknown {group} option '{option}'; accepted: {', '.join(options)}"
    text = " ".join(str(err).replace("\t", " ").split())
    return text.replace(" full_key:", "; key:").replace(" object_type=dict", "")


@contextmanager
def hydra_context() -> Iterator[None]:
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        yield


def compose(
    overrides: Sequence[str] = (), config_name: str = "train", with_hydra: bool = False
) -> DictConfig:
    """The composed config for ``overrides`` (with Hydra's own node when ``with_hydra``:
    an experiment preset's sweep lives there); a bad override raises UserError."""
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    with hydra_context():
        try:
            return hydra_compose(
                config_name, overrides=list(overrides), return_hydra_config=with_hydra
            )
        except (HydraException, OmegaConfBaseException) as err:
            raise UserError(one_line(err)) from None
        except OSError as err:  # Hydra looks for a config file named after a key
            raise UserError(f"an override cannot be read ({err.strerror or err})") from None


# ---- the value check ---------------------------------------------------------------------


# Top-level values that no ``_target_`` signature declares.
TOP_LEVEL: dict[str, Any] = {
    "seed": Annotated[int, Range(0, 2**32 - 1)],
    "physics_lr": Annotated[float, Range(low=1e-12)] | None,
    "tta": Literal["none", "flip", "flip_shift"],
    "init_from": str | None,
    "freeze": str | list[str] | None,
    "head_lr": Annotated[float, Range(low=1e-12)] | None,
    "threads": Annotated[int, Range(1, 1024)] | None,
}


# Ranges that the signatures of torch's optimizers and Lightning's Trainer do not declare,
# by target (a prefix ending in "." covers a module). Values outside them would start a
# run that fails, or "completes" at chance level: lr=0 never learns, max_epochs=0 never
# trains, limit_val_batches=0 never picks a checkpoint.
BATCHES = Annotated[float, Range(1e-9, 1.0)] | Annotated[int, Range(1)]  # a share, or a count
THIRD_PARTY: dict[str, dict[str, Any]] = {
    "torch.optim.": {
        "lr": Annotated[float, Range(1e-12)],
        "weight_decay": Annotated[float, Range(0)],
        "momentum": Annotated[float, Range(0, 1)],
    },
    "pytorch_lightning.Trainer": {
        "max_epochs": Annotated[int, Range(1)],
        "limit_train_batches": BATCHES,
        "limit_val_batches": BATCHES,
        "limit_test_batches": BATCHES,
        "log_every_n_steps": Annotated[int, Range(1)],
    },
    # null: named after the run and its sweep (deepimg.training.loggers fills them in)
    "pytorch_lightning.loggers.MLFlowLogger": {
        "experiment_name": str | None,
        "run_name": str | None,
        "tracking_uri": str | None,
    },
}


def third_party_hints(target: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for prefix, hints in THIRD_PARTY.items():
        if target == prefix or (prefix.endswith(".") and target.startswith(prefix)):
            found.update(hints)
    return found


def check_config(cfg: DictConfig) -> None:
    """Raise UserError at the first value that its ``_target_``'s signature does not accept."""
    for key, hint in TOP_LEVEL.items():
        if key in cfg and not accepts(hint, cfg[key]):
            raise UserError(f"{key}={cfg[key]!r} is not accepted; expected {describe(hint)}")
    for path, node in target_nodes(cfg):
        hints, open_kwargs = signature_hints(node._target_, path)
        hints.update({k: v for k, v in third_party_hints(node._target_).items() if k in hints})
        for key in node:
            if str(key).startswith("_"):
                continue
            full = f"{path}.{key}" if path else str(key)
            if OmegaConf.is_missing(node, key):
                raise UserError(f"{full} is required: add {full}=... to the command line")
            if OmegaConf.is_interpolation(node, key):  # resolved in the run (${paths.output_dir})
                continue
            value = node[key]
            if key not in hints and not open_kwargs:
                accepted = ", ".join(k for k in hints if k not in ("self", "in_shape"))  # fmt: skip
                raise UserError(
                    f"{full} is not a parameter of {node._target_}; accepted: {accepted}"
                )
            if isinstance(value, DictConfig) and "_target_" in value:
                continue
            if key in hints and not accepts(hints[key], value):
                shown = (
                    OmegaConf.to_container(value)
                    if isinstance(value, (DictConfig, ListConfig))
                    else value
                )
                raise UserError(
                    f"{full}={shown!r} is not accepted; expected {describe(hints[key])}"
                )


def target_nodes(cfg: Any, path: str = "") -> Iterator[tuple[str, DictConfig]]:
    """Every sub-config that names a ``_target_``, with its dotted path."""
    if isinstance(cfg, DictConfig):
        if "_target_" in cfg:
            yield path, cfg
        for key in cfg:
            if key != "hydra":
                yield from target_nodes(cfg._get_node(key), f"{path}.{key}" if path else str(key))
    elif isinstance(cfg, ListConfig):
        for i, item in enumerate(cfg):
            yield from target_nodes(item, f"{path}[{i}]")


def signature_hints(target: str, path: str) -> tuple[dict[str, Any], bool]:
    """Parameter name -> annotation, following ``**kwargs`` up the class hierarchy: read
    from the source where it can be (``config.signatures``: nothing is imported, so a bad
    value is refused in well under a second), else from the imported target."""
    from deepimg.config import signatures

    read = signatures.hints(target)
    if read is not None:
        return read
    return imported_hints(target, path)


def imported_hints(target: str, path: str) -> tuple[dict[str, Any], bool]:
    """``signature_hints`` from the imported target (its module runs)."""
    obj = import_target(target, path)
    hints: dict[str, Any] = {}
    functions = (
        [c.__init__ for c in obj.__mro__ if "__init__" in vars(c)]
        if inspect.isclass(obj)
        else [obj]
    )
    for fn in functions:
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return hints, True
        try:
            annotations = typing.get_type_hints(fn, include_extras=True)
        except Exception:  # third-party annotations that do not evaluate: accept any value
            annotations = {}
        for name, param in params.items():
            if param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                hints.setdefault(name, annotations.get(name, Any))
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return hints, False
    return hints, True


def import_target(target: str, path: str) -> Any:
    module_name, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        raise UserError(
            f"{path}._target_={target!r} cannot be imported; check the spelling"
        ) from None
