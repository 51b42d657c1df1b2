"""The project questions' presets (conf/experiment/): each composes and passes the value check,
has a quick twin and a header that states the quick form's measured wall time, and each quick
form runs, shrunk to two variants of seconds each, as `deepimg train experiment=NAME_quick`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from deepimg.config.compose import check_config, compose, conf_dir
from deepimg.config.sweeps import sweep_variants
from tests.conftest import run_cli

EXPERIMENTS = conf_dir() / "experiment"
PRESETS = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml") if not p.stem.endswith("_quick"))
QUESTIONS = {  # one preset per project question (README: "Project questions, one preset each")
    "bits_vs_accuracy",
    "pixel_count",
    "single_photon_bits",
    "lens_shape",
    "cameras",
    "fluorophore_colours",
    "sensors_for_position",
    "shift_variant_blur",
    "deconvolve_shift_variant",
    "cfa_layout",
    "hdr_exposures",
    "pixel_sizes",
}
MEASURED = re.compile(
    r"^# quick form: (\d+ min )?\d+ s on 2 cores \(measured \d{4}-\d\d-\d\d\)$", re.M
)


def test_every_project_question_has_a_preset() -> None:
    assert set(PRESETS) == QUESTIONS


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_preset_and_its_quick_twin_compose_and_pass_the_check(name: str) -> None:
    for preset in (name, f"{name}_quick"):
        cfg = compose([f"experiment={preset}"], with_hydra=True)
        check_config(cfg)
        params = dict(cfg.hydra.sweeper.params)
        assert "seed" in params, f"{preset} sweeps no seeds"
        assert cfg.analysis.figures == "none", f"{preset}: analysis=none (the report draws)"
        # every value of every swept key, one key at a time, as the pre-flight check does
        swept = [f"{key}={value}" for key, value in params.items()]
        for variant in sweep_variants([*swept, f"experiment={preset}"])[1:]:
            check_config(compose(variant))


@pytest.mark.parametrize(
    "preset",
    [*sorted(QUESTIONS), *(f"{q}_quick" for q in sorted(QUESTIONS))]
    + [
        f"learned_vs_fixed/{p.stem}"
        for p in sorted((EXPERIMENTS / "learned_vs_fixed").glob("*.yaml"))
    ],
)
def test_a_preset_trains_on_every_batch_whatever_its_tasks_first_run_budget(preset: str) -> None:
    """``task=localize`` alone trains on half the batches for 1 epoch (its first run); a
    preset states its own budget, so the measured numbers of the README stay its own."""
    cfg = compose([f"experiment={preset}"])
    assert cfg.trainer.limit_train_batches == 1.0, preset


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_preset_header_states_the_question_and_the_quick_forms_wall_time(name: str) -> None:
    text = (EXPERIMENTS / f"{name}.yaml").read_text()
    quick = (EXPERIMENTS / f"{name}_quick.yaml").read_text()
    assert text.startswith("# @package _global_\n# ") and "?" in text.split("defaults:")[0]
    assert f"deepimg train experiment={name} -m" in text
    assert re.search(r"\d+ runs", text.split("defaults:")[0]), "the header gives the run count"
    for body in (text, quick):
        assert MEASURED.search(body), "the header gives the quick form's measured wall time"
    assert yaml.safe_load(quick)["defaults"] == [name, "_self_"]


def test_a_presets_sweep_restricted_on_the_command_line_keeps_its_other_keys() -> None:
    """`experiment=NAME physical_layer.pixels=4,28 -m`: the command line's values win, the
    preset's other swept keys stay (the preset is composed with one value a key)."""
    from deepimg.commands.preflight import preset_sweep

    overrides = ["experiment=pixel_count_quick", "physical_layer.pixels=4,28"]
    assert preset_sweep(overrides) == ["seed=0,1"]


def _runs(sweep: Path) -> list[dict]:
    runs = sorted(
        (p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)
    )
    return [json.loads((run / "metrics.json").read_text()) for run in runs]


FMNIST = ["dataset.train_size=300"]  # with dataset.root: the test subset (3,000 / 1,000 images)
PATCHES = ["dataset.train_patches=64", "dataset.val_patches=32", "dataset.test_patches=64"]
STAGED = ["trainer.max_epochs=2"]  # quick forms: 1 joint and 1 decode epoch (bits: 1 hardened)
ONE = ["trainer.max_epochs=1"]
# Each quick form shrunk to two variants: seed 0 and the compared key.
QUICK_RUNS = {
    "bits_vs_accuracy": [*FMNIST, *STAGED, "physical_layer.bits=1", "physical_layer.learnable=false,true"],
    "pixel_count": [*FMNIST, *ONE, "physical_layer.pixels=4,28"],
    "single_photon_bits": [
        *FMNIST, *ONE, "physical_layer.parts.noise.photons=1", "physical_layer.parts.quantize.bits=1,8"
    ],
    "lens_shape": [*FMNIST, *STAGED, "physical_layer.pupil_phase=free", "physical_layer.learnable=false,true"],
    "cameras": [*FMNIST, *STAGED, "physical_layer.cameras=4", "physical_layer.learnable=false,true"],
    "fluorophore_colours": [*FMNIST, *STAGED, "physical_layer.learnable=false,true"],
    "sensors_for_position": [*FMNIST, *STAGED, "physical_layer.learnable=false,true"],
    "shift_variant_blur": [*FMNIST, *STAGED, "physical_layer.learnable=false,true"],
    "deconvolve_shift_variant": [*FMNIST, *ONE, "model=unet,locally_connected"],
    "cfa_layout": [*PATCHES, *STAGED, "physical_layer.learnable=false,true"],
    "hdr_exposures": [*PATCHES, *STAGED, "physical_layer.learnable=false,true"],
    "pixel_sizes": [*FMNIST, *STAGED, "physical_layer.fovea=0.5", "physical_layer.learnable=false,true"],
}  # fmt: skip


def test_every_quick_form_has_a_run_test() -> None:
    assert set(QUICK_RUNS) == QUESTIONS


@pytest.mark.slow  # a new deepimg process each, real training: 7-16 s each on 2 cores
@pytest.mark.parametrize("name", sorted(QUICK_RUNS))
def test_quick_form_runs(name: str, fmnist_root: Path, tmp_path: Path) -> None:
    overrides = QUICK_RUNS[name]
    if any(o.startswith("dataset.train_size=") for o in overrides):
        overrides = [f"dataset.root={fmnist_root}", *overrides]
    result = run_cli(
        "train", f"experiment={name}_quick", "-m", "seed=0", *overrides,
        "trainer.enable_progress_bar=false", "trainer.accelerator=cpu", "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = _runs(tmp_path / "sweep")
    assert len(metrics) == 2, "seed 0 and the two values of the compared key"
    assert all(m["status"] == "completed" for m in metrics)


COMPARISONS = sorted(p.stem for p in (EXPERIMENTS / "learned_vs_fixed").glob("*.yaml"))
DESIGNS = {"cfa", "hdr", "one_bit", "mask", "pupil", "cameras", "pixel_layout", "fluorescence"}


def test_every_learnable_design_of_the_readme_table_has_its_comparison() -> None:
    assert set(COMPARISONS) == DESIGNS


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_a_comparison_is_paired_over_five_seeds_at_equal_epochs(name: str) -> None:
    """experiment=learned_vs_fixed/NAME: fixed against learned, 5 seeds, and a learned run that
    warms up on the start design and ends decoding the frozen one, in the fixed run's epochs."""
    from deepimg.training.stages import Stages

    cfg = compose([f"experiment=learned_vs_fixed/{name}"], with_hydra=True)
    check_config(cfg)
    params = dict(cfg.hydra.sweeper.params)
    assert params["physical_layer.learnable"] == "false,true"
    assert params["seed"] == "0,1,2,3,4"
    swept = {k: v for k, v in params.items() if k not in ("physical_layer.learnable", "seed")}
    assert all("," not in str(v) for k, v in swept.items() if k != "physical_layer.pupil_phase")
    stages = Stages(**{k: v for k, v in cfg.stages.items() if k != "_target_"})
    plan = stages.plan(cfg.trainer.max_epochs, learnable=True)
    assert [s.name for s in plan][0] == "warmup" and plan[-1].name == "decode"
    assert plan[-1].end == cfg.trainer.max_epochs  # learned and fixed train equally long


def test_the_information_comparison_gives_every_arm_the_same_network_epochs() -> None:
    """experiment=information/cfa: fixed Bayer, end to end (stages=warmed) and designed for
    information (stages=ideal: info passes before the epochs), on 3 seeds; each arm trains
    the network for the same epochs and decodes the frozen design for the same last ones."""
    from deepimg.training.stages import Stages

    cfg = compose(["experiment=information/cfa"], with_hydra=True)
    check_config(cfg)
    params = dict(cfg.hydra.sweeper.params)
    assert params["stages"] == "warmed,ideal"
    assert params["physical_layer.learnable"] == "false,true" and params["seed"] == "0,1,2"
    plans = {}
    for option in ("warmed", "ideal"):
        arm = compose(["experiment=information/cfa", f"stages={option}"])
        stages = Stages(**{k: v for k, v in arm.stages.items() if k != "_target_"})
        plans[option] = (stages.info, stages.plan(arm.trainer.max_epochs, learnable=True))
    (no_passes, warmed), (passes, ideal) = plans["warmed"], plans["ideal"]
    assert no_passes == 0 < passes
    assert warmed[-1] == ideal[-1] and warmed[-1].name == "decode"
    assert warmed[-1].end == ideal[-1].end == cfg.trainer.max_epochs
    assert not any(s.name in ("joint", "hardened") for s in ideal)  # the network alone
