"""A checkpoint or run folder from someone else never runs code: real payloads, nothing created."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from deepimg.config.compose import compose
from deepimg.config.trust import check_targets, conf_targets, is_allowed
from deepimg.errors import UserError
from tests.conftest import run_main
from tests.test_cli_errors import assert_one_line_error


def payloads(victim: Path) -> dict[str, dict]:
    """Configs that create ``victim`` when instantiated."""
    return {
        "builtins.open": {"_target_": "builtins.open", "file": str(victim), "mode": "w"},
        "os.system": {"_target_": "os.system", "command": f"touch {victim}"},
        "subprocess.run": {"_target_": "subprocess.run", "args": ["touch", str(victim)]},
        "numpy.save": {"_target_": "numpy.save", "file": str(victim), "arr": [1, 2, 3]},
    }


def poisoned_config(where: str, payload: dict) -> str:
    """A real composed training config (digits, one epoch) with ``payload`` planted at ``where``."""
    cfg = compose(["dataset=digits", "trainer.max_epochs=1"])
    OmegaConf.set_struct(cfg, False)
    OmegaConf.update(cfg, where, payload, force_add=True)
    return OmegaConf.to_yaml(cfg)


@pytest.mark.parametrize("target", ["builtins.open", "os.system", "subprocess.run", "numpy.save"])
def test_checkpoint_with_a_payload_config_runs_nothing(tmp_path: Path, target: str) -> None:
    """No .hydra/ beside the checkpoint: eval falls back on the config inside it."""
    victim = tmp_path / "victim.txt"
    ckpt = tmp_path / "payload.ckpt"
    config = poisoned_config("augmentation", payloads(victim)[target])
    torch.save({"deepimg": {"version": "0.1.0", "config": config}, "state_dict": {}}, ckpt)

    result = run_main("eval", f"ckpt={ckpt}", cwd=tmp_path)

    assert_one_line_error(result, f"augmentation._target_='{target}'", "refusing")
    assert not victim.exists()
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    ("where", "target"),
    [
        ("model", "numpy.save"),  # replaces a whole node
        ("physical_layer.extra", "builtins.open"),  # nested under an allowed target
        ("hydra", "subprocess.run"),  # even keys deepimg never instantiates
        ("trainer.callbacks", "os.system"),
    ],
)
def test_run_folder_with_a_payload_config_runs_nothing(
    tmp_path: Path, where: str, target: str
) -> None:
    """A run folder sent by someone else: its .hydra/config.yaml is untrusted too."""
    victim = tmp_path / "victim.txt"
    run = tmp_path / "sent" / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    (run / ".hydra" / "config.yaml").write_text(poisoned_config(where, payloads(victim)[target]))
    honest = OmegaConf.to_yaml(compose(["dataset=digits"]))
    torch.save(
        {"deepimg": {"version": "0.1.0", "config": honest}, "state_dict": {}},
        run / "checkpoints" / "best.ckpt",
    )

    result = run_main("eval", f"ckpt={run / 'checkpoints' / 'best.ckpt'}", cwd=tmp_path)

    assert_one_line_error(result, f"{where}._target_='{target}'", "config.yaml")
    assert not victim.exists()


def test_every_target_of_deepimgs_own_configs_is_allowed() -> None:
    assert "deepimg.physics.quantize.Quantize" in conf_targets()
    assert all(is_allowed(t) for t in conf_targets())


@pytest.mark.parametrize(
    "target",
    [
        "torch.optim.RMSprop",
        "torch.optim.lr_scheduler.CosineAnnealingLR",
        "pytorch_lightning.Trainer",
        "deepimg.physics.blur.Blur",
    ],
)
def test_the_allowlist(target: str) -> None:
    assert is_allowed(target)


@pytest.mark.parametrize(
    "target",
    [
        "deepimg.commands.runs.write_metrics",  # a deepimg function that writes where it is told
        "torch.save",
        "torch.optim.Adam.__init__",
        "torch.optim.swa_utils.AveragedModel",
        "pytorch_lightning.Trainer.save_checkpoint",
        "deepimg.nosuch.Thing",
        "builtins.eval",
        "posix.system",
    ],
)
def test_targets_outside_the_allowlist_are_refused(target: str) -> None:
    assert not is_allowed(target)
    with pytest.raises(UserError, match="refusing"):
        check_targets(OmegaConf.create({"x": [{"_target_": target}]}), "a.yaml")


def test_interpolated_and_non_string_targets_are_refused() -> None:
    for target in ("${oc.env:EVIL}", 42):
        with pytest.raises(UserError, match="refusing"):
            check_targets(OmegaConf.create({"model": {"_target_": target}}), "a.yaml")


def test_the_check_imports_nothing_it_has_not_allowed() -> None:
    """Importing a module can run code (antigravity opens a browser): names are read first."""
    code = (
        "import sys; from deepimg.config.trust import is_allowed; "
        "assert not is_allowed('antigravity.x'); assert not is_allowed('this.y'); "
        "print('antigravity' in sys.modules or 'this' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_targets_of_modules_that_moved_are_followed() -> None:
    """Runs made before the move to training/ name deepimg.regularization and deepimg.schedules."""
    from deepimg.config.trust import load_untrusted

    old = (
        "regularization:\n  _target_: deepimg.regularization.Regularization\n"
        "scheduler:\n  _target_: deepimg.schedules.onecycle\n  _partial_: true\n"
    )
    cfg = load_untrusted(old, "old run")
    assert cfg.regularization._target_ == "deepimg.training.regularization.Regularization"
    assert cfg.scheduler._target_ == "deepimg.training.schedules.onecycle"


def test_a_received_config_never_reads_the_environment(monkeypatch) -> None:
    """``${oc.env:...}`` would put a secret of this machine into the run's files and pages."""
    from deepimg.config.trust import load_untrusted

    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    config = poisoned_config("tag", "${oc.env:SECRET_TOKEN}")
    with pytest.raises(UserError, match=r"\$\{oc.env:...\}, which deepimg's configs never use"):
        load_untrusted(config, "the config inside 'sent.ckpt'")
    assert load_untrusted(poisoned_config("tag", "plain"), "mine").tag == "plain"


def test_a_received_config_of_nested_aliases_is_refused() -> None:
    from deepimg.config.trust import load_untrusted
    from tests.config.test_received import BILLION_LAUGHS

    with pytest.raises(UserError, match="YAML nodes"):
        load_untrusted(poisoned_config("tag", "x") + BILLION_LAUGHS, "sent.ckpt")


def test_hydras_positional_arguments_in_a_received_config_are_refused() -> None:
    """``trainer._args_`` would pass arguments to Lightning's Trainer: deepimg's configs
    never set it, so a received config that does is refused with one line."""
    from deepimg.config.trust import load_untrusted

    config = poisoned_config("trainer._args_", ["/tmp/somewhere"])
    with pytest.raises(UserError, match=r"sets trainer\._args_, which deepimg's configs never use"):
        load_untrusted(config, "sent.ckpt")
