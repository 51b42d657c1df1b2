"""Re-test a trained model, optionally under another physical layer.

A checkpoint and its run's ``.hydra/config.yaml`` rebuild the whole module; overrides
change what they name (``bits=2`` re-tests an 8-bit model on a 2-bit sensor).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from deepimg.analysis.run_analysis import analyse_run, settings_from_config
from deepimg.analysis.tables import print_metrics
from deepimg.commands.runs import (
    find_runs,
    new_run_dir,
    read_metrics,
    writable_folder,
    write_metrics,
    write_per_image,
)
from deepimg.commands.train import (
    draw_figures,
    quiet_lightning,
    save_physics_pictures,
    task_facts,
)
from deepimg.config import compose as config
from deepimg.config.overrides import OVERRIDE, expand_short_keys
from deepimg.config.trust import load_untrusted
from deepimg.errors import UserError
from deepimg.physics.base import PhysicalLayer
from deepimg.training.build import build_datamodule, build_module
from deepimg.training.checkpoint import load_checkpoint

log = logging.getLogger(__name__)


def run_config(path: Path, checkpoint: dict[str, Any]) -> DictConfig:
    """The training config: the run's ``.hydra/config.yaml``, else the copy inside the checkpoint.

    Either came from a file someone may have sent: its ``_target_``s are checked before
    anything else reads it (see ``deepimg.config.trust``)."""
    saved = path.resolve().parent.parent / ".hydra" / "config.yaml"
    if saved.is_file():
        cfg = load_untrusted(saved, saved)
    else:
        embedded = (
            checkpoint["deepimg"].get("config") if isinstance(checkpoint["deepimg"], dict) else None
        )
        if not isinstance(embedded, str):
            raise UserError(
                f"'{path}' holds no config and its run folder has no .hydra/config.yaml"
            )
        cfg = load_untrusted(embedded, f"the config inside '{path}'")
    OmegaConf.set_struct(cfg, True)
    return cfg


def apply_overrides(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """``group=option`` swaps a whole group's config; ``key=value`` sets one (short keys allowed)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    groups = config.groups()
    for line in overrides:
        if not OVERRIDE.match(line):
            raise UserError(f"cannot apply '{line}' to a trained model; write key=value")
    swaps = [o for o in overrides if OVERRIDE.match(o)["key"] in groups]
    for line in swaps:  # group swaps first, so short keys find the keys of the new option
        key = OVERRIDE.match(line)["key"]
        fresh = config.compose([line])
        OmegaConf.update(cfg, key, fresh[key], merge=False, force_add=True)
    rest = [o for o in overrides if o not in swaps]
    for line in expand_short_keys(rest, groups, lambda _: cfg):
        key = OVERRIDE.match(line)["key"]
        if OmegaConf.select(cfg, key, default="__missing__") == "__missing__":
            raise UserError(
                f"'{key}' is not a key of the trained model's config; see its .hydra/config.yaml"
            )
        value = OverridesParser.create().parse_override(line).value()
        OmegaConf.update(cfg, key, value, merge=False)
    config.check_config(cfg)
    return cfg


def load_weights(module: pl.LightningModule, state_dict: dict[str, torch.Tensor]) -> None:
    """Network and standardisation must match; physics may differ (another sensor)."""
    physics = {k: v for k, v in state_dict.items() if k.startswith("physics.")}
    rest = {k: v for k, v in state_dict.items() if not k.startswith("physics.")}
    try:
        missing, unexpected = module.load_state_dict(rest, strict=False)
    except RuntimeError:  # same names, other shapes (model.channels=64 on a 32-channel net)
        missing, unexpected = ["(tensors of other shapes)"], []
    missing = [k for k in missing if not k.startswith("physics.")]
    if missing or unexpected:
        raise UserError(
            "the network must match the checkpoint's: leave the model's keys as trained "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    load_physics(module.physics, {k.removeprefix("physics."): v for k, v in physics.items()})


def load_physics(physics: PhysicalLayer, saved: dict[str, torch.Tensor]) -> None:
    """A checkpoint's physical layer into ``physics``, which may be another sensor.

    A fixed design is rebuilt from the config, so ``bits=8`` means 8 bits; a learned one
    (saved with its latent) is taken from the checkpoint, also into a layer built with
    ``learnable=false``, which then tests it frozen. What the new layer cannot use is named.
    """
    learned = {k.removesuffix(".latent") for k in saved if k.endswith(".latent")}
    saved = {k: v for k, v in saved.items() if not k.endswith(".value") or k[:-6] in learned}
    usable = {k: v for k, v in saved.items() if physics.fits(k, v)}
    physics.load_state_dict(usable, strict=False)
    unused = sorted(set(saved) - set(usable))
    owner = {k: k.rpartition(".")[0] for k in unused}
    frozen = sorted({owner[k] for k in unused if owner[k] + ".value" in usable})
    if frozen:
        shown = ", ".join(f"physics.{name}" for name in frozen)
        log.warning("testing the learned design of %s as it is, frozen", shown)
    others = [f"physics.{k}" for k in unused if owner[k] not in frozen]
    if others:
        log.warning("physical-layer parameters not used by the new layer: %s", ", ".join(others))


def checkpoints(ckpt: str) -> list[Path]:
    """What ``ckpt=`` names: a checkpoint, several (``a.ckpt,b.ckpt``), or a sweep folder,
    which stands for the best checkpoint of each of its completed runs."""
    if "," in ckpt:
        paths = [Path(p) for p in ckpt.split(",") if p]
        if not paths:
            raise UserError(f"ckpt='{ckpt}' names no checkpoint; give ckpt=A.ckpt,B.ckpt,...")
        return paths
    path = Path(ckpt)
    if not path.is_dir():
        return [path]
    found = [
        run / "checkpoints" / "best.ckpt"
        for run in find_runs(path)
        if (read_metrics(run) or {}).get("status") == "completed"
        and (run / "checkpoints" / "best.ckpt").is_file()
    ]
    if not found:
        raise UserError(
            f"'{path}' is a folder without completed runs; give a checkpoint file such as "
            f"{path}/checkpoints/best.ckpt, or a sweep folder"
        )
    return found


def load_member(ckpt: Path, overrides: list[str]) -> tuple[DictConfig, dict[str, Any]]:
    checkpoint = load_checkpoint(ckpt)
    cfg = run_config(ckpt, checkpoint)
    with open_dict(cfg):
        cfg.tta = cfg.get("tta", "none")  # runs made before test-time augmentation
    return apply_overrides(cfg, overrides), checkpoint


SHARED = ("task", "dataset", "physical_layer")


def check_shared(cfgs: list[DictConfig], ckpts: list[Path]) -> None:
    """Ensemble members must answer the same question about the same data and sensor."""
    for cfg, ckpt in zip(cfgs[1:], ckpts[1:], strict=True):
        for key in SHARED:
            if str(cfg.get(key)) != str(cfgs[0].get(key)):  # None for runs before a group
                raise UserError(
                    f"ensemble members must share the task, the dataset and the physical "
                    f"layer; '{ckpt}' has another {key} than '{ckpts[0]}'"
                )


def output_folder(out_dir: Path | None) -> Path:
    """``hydra.run.dir`` when given (it must be writable), else a fresh outputs/<date>/<time>/."""
    return new_run_dir(multirun=False) if out_dir is None else writable_folder(
        out_dir, "hydra.run.dir"
    )  # fmt: skip


def test_trainer(cfg: DictConfig, out_dir: Path) -> pl.Trainer:
    # One process, whatever the run trained on: a re-test is quick, and under DDP each test
    # sample would be seen once per rank's shard (with repeats to even the shards).
    return instantiate(
        cfg.trainer, default_root_dir=str(out_dir), logger=False, enable_checkpointing=False,
        callbacks=[], devices=1, strategy="auto", num_nodes=1, _convert_="all",
    )  # fmt: skip


def evaluate(ckpt: str, overrides: list[str], out_dir: Path | None = None) -> dict[str, Any]:
    """Test the checkpoint's model (or the ensemble of several) under ``overrides``; writes
    metrics.json into a new run dir."""
    ckpts = checkpoints(ckpt)
    if out_dir is not None and (out_dir / "metrics.json").exists():
        raise UserError(f"'{out_dir}' already holds a metrics.json; choose another hydra.run.dir")
    if len(ckpts) > 1:
        return evaluate_ensemble(ckpts, overrides, out_dir)
    ckpt = ckpts[0]
    cfg, checkpoint = load_member(ckpt, overrides)
    quiet_lightning()
    pl.seed_everything(cfg.seed, verbose=False)
    datamodule = build_datamodule(cfg)
    module = build_module(cfg, datamodule)
    load_weights(module, checkpoint["state_dict"])
    out_dir = output_folder(out_dir)
    trainer = test_trainer(cfg, out_dir)
    metrics = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    OmegaConf.save(cfg, out_dir / "config.yaml")
    metrics = {
        **metrics,
        "status": "completed",
        **task_facts(module.task, module.tta_metrics is not None),
        "ckpt": str(ckpt),
        "overrides": " ".join(overrides),
    }
    write_per_image(out_dir, module.per_image())
    write_metrics(out_dir, metrics)
    settings = settings_from_config(cfg)
    if settings.figures != "none":
        save_physics_pictures(module, datamodule, out_dir)
    history = ckpt.resolve().parent.parent / "metrics.csv"  # the training run's learning curves
    page = draw_figures(metrics, out_dir, lambda: analyse_run(
        module, datamodule, out_dir, settings, history, trainer.strategy.root_device
    ))  # fmt: skip
    print_metrics(metrics, title=f"{ckpt} {' '.join(overrides)}".strip())
    print(f"metrics: {out_dir / 'metrics.json'}" + (f", figures: {page}" if page else ""))
    return metrics


def evaluate_ensemble(
    ckpts: list[Path], overrides: list[str], out_dir: Path | None
) -> dict[str, Any]:
    """Test each member and their ensemble on the same test split, with the same noise
    draws (the generators are re-seeded before each test); print them side by side."""
    from deepimg.analysis.tables import print_side_by_side
    from deepimg.training.ensemble import Ensemble

    loaded = [load_member(c, overrides) for c in ckpts]
    cfgs = [cfg for cfg, _ in loaded]
    check_shared(cfgs, ckpts)
    quiet_lightning()
    datamodule = build_datamodule(cfgs[0])
    members = []
    for cfg, checkpoint in loaded:
        pl.seed_everything(cfg.seed, verbose=False)
        members.append(build_module(cfg, datamodule))
        load_weights(members[-1], checkpoint["state_dict"])
    out_dir = output_folder(out_dir)
    names = member_names(ckpts)
    columns: dict[str, dict[str, Any]] = {}
    for name, module in [*zip(names, members, strict=True), ("ensemble", Ensemble(members))]:
        pl.seed_everything(cfgs[0].seed, verbose=False)
        trainer = test_trainer(cfgs[0], out_dir)
        columns[name] = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    write_per_image(out_dir, module.per_image())  # the ensemble's, tested last
    OmegaConf.save(cfgs[0], out_dir / "config.yaml")
    metrics = {
        **columns["ensemble"],
        **{f"member{i}/{k}": v for i, name in enumerate(names) for k, v in columns[name].items()},
        "status": "completed",
        **task_facts(members[0].task, members[0].tta_metrics is not None),
        "ckpt": ",".join(map(str, ckpts)),
        "members": len(ckpts),
        "overrides": " ".join(overrides),
    }
    write_metrics(out_dir, metrics)
    print_side_by_side(columns, title=f"ensemble of {len(ckpts)} {' '.join(overrides)}".strip())
    print(f"metrics: {out_dir / 'metrics.json'}")
    return metrics


def member_names(ckpts: list[Path]) -> list[str]:
    """Each member's column: its run folder (the sweep's job number), with as many parent
    folders as it takes to tell the members apart."""
    runs = [c.resolve().parent.parent if c.parent.name == "checkpoints" else c for c in ckpts]
    for depth in range(1, 1 + max(len(r.parts) for r in runs)):
        names = ["/".join(r.parts[-depth:]) for r in runs]
        if len(set(names)) == len(names):
            return names
    return [f"{c} ({i})" for i, c in enumerate(ckpts)]  # the same checkpoint twice
