"""A config is checked from the source of the classes it names, without importing them: the
same parameters and annotations as the imported classes give, and a bad value is refused
without torch, Lightning or torchmetrics ever being imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deepimg.config import signatures
from deepimg.config.compose import conf_dir, imported_hints
from deepimg.config.constraints import describe

REPO = Path(__file__).resolve().parents[2]


def conf_targets() -> list[str]:
    found: set[str] = set()

    def walk(tree: object) -> None:
        if isinstance(tree, dict):
            if isinstance(tree.get("_target_"), str):
                found.add(tree["_target_"])
            for value in tree.values():
                walk(value)

    for path in conf_dir().rglob("*.yaml"):
        if path.relative_to(conf_dir()).parts[0] != "hydra":
            walk(yaml.safe_load(path.read_text()))
    return sorted(found)


@pytest.mark.parametrize("target", conf_targets())
def test_the_source_gives_what_the_imported_class_gives(target: str) -> None:
    read = signatures.hints(target)
    assert read is not None, f"{target}: its source could not be read"
    hints, open_kwargs = read
    imported, imported_open = imported_hints(target, "x")
    assert open_kwargs == imported_open
    if not target.startswith("deepimg."):  # outside deepimg: the names, up to **kwargs
        assert set(hints) <= set(imported) - {"self"}
        return
    assert set(hints) == set(imported) - {"self"}
    for name, hint in imported.items():
        plain_class = isinstance(hint, type) and hint not in (int, float, str, bool, dict, list)
        if name != "self" and not plain_class:  # an Optimizer passed by code is Any here
            assert describe(hints[name]) == describe(hint), f"{target}.{name}"


def test_an_alias_from_another_module_and_a_string_annotation_are_rebuilt(tmp_path: Path) -> None:
    hints, _ = signatures.hints("deepimg.data.folder.ImageFolder")
    assert describe(hints["channels"]) == describe(__import__("typing").Literal[1, 3])
    assert describe(hints["background"]) == "one of zero, noise, clutter"  # from data/canvas.py
    assert "an integer in 1..16" in describe(
        signatures.hints("deepimg.physics.quantize.Quantize")[0]["bits"]
    )


def test_a_bad_value_is_refused_without_importing_torch_or_lightning(tmp_path: Path) -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('HEAVY', sorted(m for m in ('torch', 'pytorch_lightning', "
        "'torchmetrics', 'albumentations', 'matplotlib') if m in sys.modules), file=sys.stderr))\n"
        "from deepimg.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    for args in (["bits=0"], ["trainer.max_epochs=0"], ["physical_layer=cfa", "palette=cmyk"]):
        result = subprocess.run(
            [sys.executable, "-c", probe, "train", *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "HEAVY []" in result.stderr, result.stderr
