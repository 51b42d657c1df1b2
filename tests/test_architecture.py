"""The shape of the code holds: imports run downwards through the layers of
docs/architecture.md, physics uses neither Hydra nor the command line's error type, and no
two modules of a package import each other in a circle (import-linter's contracts in
pyproject.toml, lazy imports inside functions included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), str(REPO / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_a_broken_contract_is_caught(tmp_path: Path) -> None:
    """The check can fail: a configuration where config/ sits above tasks/ breaks it, since
    tasks import config."""
    text = (REPO / "pyproject.toml").read_text()
    upside_down = text.replace('"deepimg.config",\n', "").replace(
        '    "deepimg.commands",\n', '    "deepimg.commands",\n    "deepimg.config",\n'
    )
    assert upside_down != text
    config = tmp_path / "pyproject.toml"
    config.write_text(upside_down)
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), str(config), "--no-cache", "--no-logo"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert "deepimg.tasks is not allowed to import deepimg.config" in result.stdout
