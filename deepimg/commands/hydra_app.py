"""Handing ``deepimg train`` to Hydra: its argument parser (one line per bad flag), the one
flag refused (``--experimental-rerun`` unpickles a file), and the Hydra app itself."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from deepimg.errors import UserError

HYDRA_ONLY = {
    "--help",
    "-h",
    "--hydra-help",
    "--version",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
}


def hydra_parser() -> argparse.ArgumentParser:
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()
    parser.prog = "deepimg train"

    def error(message: str) -> None:
        raise UserError(f"{message}; see deepimg train --help")

    parser.error = error  # one line instead of argparse's usage block
    return parser


def refuse_rerun(args: Sequence[str]) -> None:
    """Hydra's ``--experimental-rerun FILE`` unpickles FILE, and a pickle can run any code:
    a file someone sent must never reach it. argparse also takes any prefix of the flag
    (``--experimental-re``), so the flag is found as Hydra's own parser finds it."""
    ns, _ = hydra_parser().parse_known_args(list(args))
    if ns.experimental_rerun is not None:
        raise UserError(
            f"--experimental-rerun {ns.experimental_rerun} is not accepted: Hydra would "
            "unpickle that file, which can run any code; resume a run with resume=DIR"
        )


def run_hydra(task, argv: list[str], config_name: str) -> None:
    import hydra

    from deepimg.commands.resolvers import register_resolvers
    from deepimg.config.compose import conf_dir

    refuse_rerun(argv)  # every way into Hydra passes here, DDP's other ranks included
    register_resolvers()
    # Hydra reads its overrides from sys.argv. argv[0] stays this program, because Lightning's
    # DDP launcher starts the other ranks as `python argv[0] argv[1:] hydra.run.dir=...`.
    sys.argv = [sys.argv[0], *argv]
    hydra.main(config_path=str(conf_dir()), config_name=config_name, version_base="1.3")(task)()
