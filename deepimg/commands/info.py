"""``deepimg info``: bits per pixel of each design, in seconds, without training a network.

It takes the same config groups, overrides and sweep syntax as ``deepimg train``; each job
images the validation scenes (to fit the density model) and the test scenes (to evaluate
it) through the physical layer and writes the estimate (``deepimg/analysis/information.py``)
into its run folder's ``metrics.json``, which ``deepimg report`` reads as it reads a trained
run's. The estimate is taken in electrons before any ADC, on patches of ``PATCH`` x ``PATCH``
pixels (``analysis/information.py``), or for 1-bit pixels counted on patterns of
``BINARY_PATCH`` x ``BINARY_PATCH``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from deepimg.analysis.information import BITS
from deepimg.errors import UserError

PATCHES = 10_000  # patches fitted, and as many evaluated
SCENES = 5_000  # scenes imaged from each split (fewer when the split is smaller)
BINARY_PATCH = 3  # 1-bit pixels: 3x3 patterns, 512 of them, counted over PATCHES patches


def info_command(args: list[str]) -> None:
    from deepimg.commands.hydra_app import HYDRA_ONLY, refuse_rerun, run_hydra
    from deepimg.commands.preflight import prepare_train_args

    refuse_rerun(args)
    if not HYDRA_ONLY.intersection(args):
        args = prepare_train_args(args, "info")
    run_hydra(info_job, args, "train")


def info_job(cfg: DictConfig) -> float:
    """One design: estimate, write ``metrics.json``, print one line."""
    from deepimg.commands.runs import write_metrics

    run_dir = Path(cfg.paths.output_dir)
    try:
        metrics = estimate(cfg)
    except (UserError, ValueError) as err:  # a layer or the estimate refusing its input
        print(f"deepimg info: error: {' '.join(str(err).split())}", file=sys.stderr)
        sys.exit(2)
    write_metrics(run_dir, metrics)
    bits, low, high = (metrics[f"{BITS}{end}"] for end in ("", "_low", "_high"))
    line = f"{run_dir}: {bits:.4f} bits per pixel [{low:.4f}, {high:.4f}]"
    print(line + (f" ({metrics['info/warning']})" if metrics.get("info/warning") else ""))
    return bits


def estimate(cfg: DictConfig) -> dict:
    """``metrics.json`` of one design of ``deepimg info``: its bits per pixel, CI and caveats."""
    import torch

    from deepimg.training.build import build, build_datamodule

    torch.manual_seed(cfg.seed)
    datamodule = build_datamodule(cfg)
    datamodule.setup()
    physics = build(cfg.physical_layer, in_shape=datamodule.in_shape)
    facts = information(physics, datamodule, cfg.seed)
    if facts is None:
        name = cfg.physical_layer._target_.rsplit(".", 1)[-1]
        raise UserError(
            f"{name} has no noise model, and bits per pixel need one: choose "
            "physical_layer=noise, sensor or single_photon, or physical_layer=cfa or "
            "fluorescence with physical_layer.photons"
        )
    return {**facts, "status": "completed", "task": "info", "task_metrics": BITS,
            "lower_is_better": ""}  # fmt: skip


def information(physics, datamodule, seed: int) -> dict | None:
    """The bits per pixel of ``physics`` (its hard design, evaluation noise) on the scenes of
    ``datamodule``, as ``metrics.json`` keys; None for a layer without a noise model."""
    import copy
    import time

    import torch

    from deepimg.analysis.information import bits_per_pixel, patch_size

    start = time.perf_counter()
    physics = copy.deepcopy(physics).cpu().eval()
    val, test = (datamodule.scenes(split, SCENES)[0] for split in ("val", "test"))
    with torch.no_grad():
        binary = physics.binary_counts(val)
        if binary is not None:
            measured = physics.binary_counts(test)
            return binary_information(binary[0], measured, physics.period, seed) | timed(start)
        fit, measured = physics.photon_counts(val), physics.photon_counts(test)
    if fit is None or measured is None:
        return None
    size = patch_size(fit[0].shape)
    if size < 2:
        height, width = fit[0].shape[-2:]
        raise ValueError(
            f"measurements of {height}x{width} pixels are too small for the estimate's patches "
            "(at least 4x4 pixels are needed)"
        )
    fitted, tested, noise = crops(fit[0], measured, size, physics.period, seed)
    electrons = float(measured[0].mean())
    result = bits_per_pixel(fitted, tested, noise, mean_electrons=electrons)
    return (
        estimate_keys(result, size)
        | {
            "info/mean_electrons": electrons,
            "info/model": "gaussian, in electrons before the ADC",
            "info/warning": result.warning,
        }
        | timed(start)
    )


def binary_information(fit, measured: tuple, period: tuple[int, int], seed: int) -> dict:
    """The discrete estimate for a layer of 1-bit pixels (``binary_counts``): patterns of
    ``BINARY_PATCH`` x ``BINARY_PATCH`` bits counted on the validation scenes' bits ``fit``,
    and the test scenes' bits with each pixel's firing chance (``measured``)."""
    from deepimg.analysis.information import binary_bits_per_pixel

    fitted, tested, chance = crops(fit, measured, BINARY_PATCH, period, seed)
    result = binary_bits_per_pixel(fitted, tested, chance)
    return estimate_keys(result, BINARY_PATCH) | {
        "info/model": f"1-bit patterns of {BINARY_PATCH}x{BINARY_PATCH}, counted (not Gaussian)",
        "info/warning": "",
    }


def crops(fit, measured: tuple, size: int, period: tuple[int, int], seed: int) -> tuple:
    """``PATCHES`` seeded crops of the validation measurements ``fit``, and of the test
    measurements with what each value's noise is (its variance, or its chance of a 1),
    ``measured``: cropped together as channels, so that each value keeps its own, then
    split. Crops start on the design's ``period``, in the same phase of a tiled design."""
    import numpy as np
    import torch

    from deepimg.analysis.information import patches

    fitted = patches(fit.double().numpy(), size, PATCHES, seed=seed, period=period)
    both = torch.cat(measured, dim=1).double().numpy()
    tested, noise = np.split(patches(both, size, PATCHES, seed=seed + 1, period=period), 2, 1)
    return fitted, tested, noise


def estimate_keys(result, size: int) -> dict:
    """The keys of ``metrics.json`` that every estimate writes: its bits per pixel, CI,
    patches and their side."""
    return {
        BITS: result.bits,
        f"{BITS}_low": result.low,
        f"{BITS}_high": result.high,
        "info/patches": result.n,
        "info/patch_size": size,
    }


def timed(start: float) -> dict:
    import time

    return {"info_time_s": round(time.perf_counter() - start, 2)}
