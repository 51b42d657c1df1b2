"""Before ``deepimg train`` starts: shorthands expanded, every value of every sweep variant
checked, each variant's model built on its data once, and a fresh run folder claimed, so a
bad value fails in a second with one line instead of half-way through a sweep."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepimg.commands.hydra_app import hydra_parser
from deepimg.config.sweeps import plan_sweep, sweep_variants
from deepimg.errors import UserError


def prepare_train_args(args: Sequence[str], command: str = "train") -> list[str]:
    """Expand shorthands, check every value, and give the run a fresh folder (``command``:
    the one whose name the messages carry, ``train`` or ``info``).

    Returns the argument list for Hydra: flags first, then the full overrides.
    """
    from deepimg.commands.runs import new_run_dir, writable_folder
    from deepimg.config import compose as config
    from deepimg.config.overrides import expand_ranges, expand_short_keys

    ns = hydra_parser().parse_intermixed_args(list(args))
    for override in ns.overrides:
        if override.startswith("="):
            raise UserError(f"'{override}' has no key; write key=value, e.g. bits{override}")
        key = override.partition("=")[0]
        if len(key) > MAX_KEY:
            raise UserError(
                f"an override key of {len(key):,} characters ('{key[:20]}...'); keys are config "
                "paths such as physical_layer.bits"
            )
    flags = list(args)
    for override in ns.overrides:
        flags.remove(override)
    overrides, max_runs = take_max_runs(ns.overrides)
    overrides, ranged = expand_ranges(overrides)
    overrides = expand_short_keys(overrides, config.groups(), config.compose)
    preset = preset_sweep(overrides)  # an experiment's own sweep (hydra.sweeper.params)
    if preset and not (ns.multirun or ranged):
        flags.append("-m")
        print(
            f"deepimg {command}: {experiment_of(overrides)} is a sweep ({' '.join(preset)}); running it with -m"
        )
    multirun = ns.multirun or ranged or bool(preset)
    if multirun and ns.cfg:
        raise UserError(
            "--cfg prints one config and cannot be combined with a sweep (-m or A..B); "
            "give one value per key to see its config"
        )
    if ranged and not ns.multirun:
        flags.append("-m")
    check_sweeper(overrides)
    check_launcher(sweep_variants([*preset, *overrides])[0] if multirun else [])
    searched = any(o.startswith("hydra/sweeper=") and o != "hydra/sweeper=basic" for o in overrides)
    sweep = plan_sweep([*preset, *overrides], searched)
    if multirun:
        check_size(sweep.runs, max_runs, command)
    variants = [config.compose(v) for v in sweep.variants]
    for cfg in variants:
        config.check_config(cfg)
    for swept, values in sweep.numbers.items():  # many numbers: each against its annotation
        check_values(variants[0], swept, values)
    if not ns.cfg:
        check_fit_to_data(variants)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    given = [o for o in overrides if o.lstrip("+").partition("=")[0] == key]
    if not ns.cfg and given:
        folder = hydra_folder(sweep_variants([*preset, *overrides])[0], key)
        refuse_existing_runs(folder)
        writable_folder(folder, key)
        claim(folder)
    if not ns.cfg and not given:
        overrides.append(f"{key}={new_run_dir(multirun)}")
    return flags + overrides


def experiment_of(overrides: list[str]) -> str:
    return next((o for o in overrides if o.startswith("experiment=")), "the experiment")


def preset_sweep(overrides: list[str]) -> list[str]:
    """The sweep an experiment preset declares (``hydra.sweeper.params``), as overrides, less
    the keys the command line sets itself (Hydra lets those win too)."""
    from deepimg.config import compose as config

    if not any(o.startswith(("experiment=", "+experiment=")) for o in overrides):
        return []
    first = sweep_variants(overrides)[0]  # one value a key: Hydra composes no sweep (bits=1,2)
    params = config.compose(first, with_hydra=True).hydra.sweeper.get("params") or {}
    given = {o.partition("=")[0].lstrip("+~") for o in overrides}
    return [f"{key}={value}" for key, value in params.items() if key not in given]


MAX_KEY = 256  # the longest config path deepimg has is under 60 characters
MAX_RUNS = 1000  # a sweep of more runs needs +max_runs=N, given on purpose


def take_max_runs(overrides: list[str]) -> tuple[list[str], int]:
    """``+max_runs=N`` (deepimg's, not Hydra's) out of the overrides, and its value."""
    rest, limit = [], MAX_RUNS
    for o in overrides:
        key, _, value = o.lstrip("+").partition("=")
        if key != "max_runs":
            rest.append(o)
        elif value.isdigit() and int(value) > 0:
            limit = int(value)
        else:
            raise UserError(f"'{o}': max_runs must be a whole number of runs >= 1")
    return rest, limit


def check_size(runs: int | None, max_runs: int, command: str = "train") -> None:
    """Say how many runs a sweep makes before checking them, and refuse one beyond
    ``max_runs`` (``seed=1..1000000`` is a typo more often than a plan)."""
    if runs is None:
        return
    if runs > max_runs:
        raise UserError(
            f"this sweep makes {runs:,} runs, more than {max_runs:,}; add +max_runs={runs} if "
            "you mean it"
        )
    if runs > 1:
        print(f"deepimg {command}: a sweep of {runs:,} runs; checking its values first")


def check_values(cfg: DictConfig, key: str, values: list[str]) -> None:
    """Each of many swept numbers against the annotation of ``key`` (no config is composed
    for them: the annotation decides, as in ``check_config``)."""
    from omegaconf import OmegaConf

    from deepimg.config import compose as config
    from deepimg.config.constraints import accepts, describe

    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if parent and (node is None or "_target_" not in node):
        return
    hint = (
        config.signature_hints(node._target_, parent)[0].get(leaf)
        if parent
        else config.TOP_LEVEL.get(leaf)
    )
    if hint is None:
        return
    for text in values:
        value = float(text) if "." in text or "e" in text.lower() else int(text)
        if not accepts(hint, value):
            raise UserError(f"{key}={text} is not accepted; expected {describe(hint)}")


def check_launcher(overrides: list[str]) -> None:
    """A parallel launcher that could run no job (``n_jobs=0``) is refused before any folder
    is made; Hydra would fail after making the sweep's folder."""
    if not any(o.startswith("hydra/launcher=") for o in overrides):
        return
    from deepimg.config import compose as config

    launcher = config.compose(overrides, with_hydra=True).hydra.launcher
    if "joblib" in str(launcher.get("_target_", "")) and launcher.get("n_jobs") == 0:
        raise UserError(
            "hydra.launcher.n_jobs=0 runs no job; give the number of parallel jobs (1, 2, ...) "
            "or -1 for every core"
        )


def check_sweeper(overrides: list[str]) -> None:
    """Hydra's own ``hydra/sweeper=optuna`` minimizes unless told a direction: on accuracy
    that search would hunt for the worst design. deepimg's preset knows the task's direction."""
    if "hydra/sweeper=optuna" in overrides and not any(
        o.startswith("hydra.sweeper.direction=") for o in overrides
    ):
        raise UserError(
            "hydra/sweeper=optuna is the plugin's bare config, which minimizes; use "
            "hydra/sweeper=search (deepimg's preset: the task's validation objective, in its "
            "direction) or give hydra.sweeper.direction=maximize|minimize"
        )


def hydra_folder(overrides: list[str], key: str) -> Path:
    """The folder Hydra will write into, as Hydra reads ``key`` from ``overrides``: quotes
    parsed away, interpolations (``outputs/run_${seed}``) resolved."""
    from omegaconf import OmegaConf

    from deepimg.config import compose as config

    try:
        return Path(str(OmegaConf.select(config.compose(overrides, with_hydra=True), key)))
    except Exception as err:  # noqa: BLE001 - an interpolation that does not resolve
        raise UserError(f"{key} cannot be resolved ({err}); give a plain folder") from None


CLAIM = ".deepimg-claim"  # in a folder that a deepimg train has taken; holds its process id


def claim(folder: Path) -> None:
    """Take ``folder`` for this run, atomically: a second ``deepimg train`` started on the
    same new folder at the same moment is refused instead of both failing later. A claim
    left by a process that has ended is taken over."""
    path = folder / CLAIM
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if claimant_alive(path):
                raise UserError(
                    f"'{folder}' is being used by another deepimg train (process "
                    f"{path.read_text().strip()}); choose another folder"
                ) from None
            path.unlink(missing_ok=True)  # a claim of an ended process
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        return


def claimant_alive(path: Path) -> bool:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (ValueError, OSError):
        return False
    return pid != os.getpid()


def refuse_existing_runs(folder: Path) -> None:
    """A folder that already holds a run (or a sweep of runs) is never written over."""
    from deepimg.commands.runs import find_runs

    if (
        (folder / "metrics.json").exists()
        or (folder / ".hydra").exists()
        or (folder.is_dir() and find_runs(folder))
    ):
        raise UserError(
            f"'{folder}' already holds a run; choose a new folder (or leave hydra.run.dir "
            "and hydra.sweep.dir out for a fresh one under outputs/)"
        )


def check_fit_to_data(variants: list[DictConfig]) -> None:
    """Build each variant's model on its data, before any run folder exists.

    Some values are wrong only for a given dataset (a 40x40 sensor on 28x28 scenes, a colour
    filter on grayscale images); finding them here keeps a sweep from failing half-way.
    """
    from deepimg.training.build import build_datamodule, build_module
    from deepimg.training.loggers import check_trackers
    from deepimg.training.memory import check_memory

    datamodules = {}
    for cfg in variants:
        check_accelerator(cfg)
        check_trackers(cfg)
        key = OmegaConf.to_yaml(cfg.dataset)  # augmentation never changes the shape
        if key not in datamodules:
            datamodules[key] = build_datamodule(cfg)
        check_memory(cfg, datamodules[key])  # before the network is built for real
        build_module(cfg, datamodules[key])


def check_accelerator(cfg: DictConfig) -> None:
    """A GPU trainer on a machine where torch sees no GPU fails at once, not in the job."""
    import torch

    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UserError(
            f"trainer.accelerator={accelerator} needs a CUDA GPU, and torch sees none on this "
            "machine; use trainer=cpu (or trainer=default, which picks what there is)"
        )
