"""The command line: ``deepimg train|eval|report|info``.

``train`` hands its arguments to Hydra after deepimg's shorthands are expanded and every
value is checked, so a typo fails in a second with one line instead of a traceback after
the data has loaded. Heavy libraries (torch, Lightning) are imported inside the commands,
so ``deepimg --help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from deepimg import __version__
from deepimg.errors import UserError

USAGE = f"""usage: deepimg COMMAND [ARGS ...]

deepimg {__version__}: how the physical imaging system (bit depth, blur, pixels, noise, colour
filters, masks) changes what a deep network can do, and can it be optimised jointly.

commands:
  train   train a network through a simulated imaging system (a Hydra app: key=value overrides)
  eval    re-test a trained model, optionally under another physical layer
  report  one table, plots and a page for a sweep, or a folder of sweeps
  info    bits per pixel of a design, estimated in seconds without training

examples:
  deepimg train
  deepimg train physical_layer=quantize bits=1..8 -m
  deepimg train task=restore physical_layer=blur sigma=2
  deepimg report outputs/multirun/2026-11-23/10-00-00
  deepimg eval ckpt=outputs/2026-11-23/10-00-00/checkpoints/best.ckpt bits=2

`deepimg COMMAND --help` explains each command; `deepimg train --help` lists every config group.
"""

EVAL_USAGE = """usage: deepimg eval ckpt=PATH [OVERRIDE ...]

Rebuild a trained model from its checkpoint and its run's .hydra/config.yaml, apply the
overrides (e.g. bits=2 or physical_layer=none to re-test under another sensor; short keys and
group=option work as in `deepimg train`), test it on the test split, print the metrics and
write metrics.json and config.yaml into a new run folder outputs/<date>/<time>/
(or hydra.run.dir=DIR), with the figures of the `analysis` group (analysis=none|basic|full,
as the run was trained unless overridden) and an index.html that shows them.

An ensemble: ckpt=A.ckpt,B.ckpt,C.ckpt, or ckpt=SWEEP_DIR for the best checkpoint of each
completed run of a sweep. The members (which must share the task, the dataset and the
physical layer) and the ensemble, which averages their predicted probabilities, are tested
on the same test split and printed side by side.

tta=flip|flip_shift also scores the test averaged over moved copies of each scene (before
the physical layer): test/acc_tta beside test/acc.

examples:
  deepimg eval ckpt=outputs/2026-11-23/10-00-00/checkpoints/best.ckpt
  deepimg eval ckpt=outputs/multirun/2026-11-23/10-00-00/7/checkpoints/best.ckpt bits=2
  deepimg eval ckpt=outputs/multirun/2026-11-23/10-00-00 tta=flip    # an ensemble, with TTA
"""


def fail(command: str, message: object) -> None:
    """One line on stderr, exit status 2: the contract for every bad input."""
    prog = f"deepimg {command}" if command else "deepimg"
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


# ---- the commands ----------------------------------------------------------------------------


def eval_command(args: list[str]) -> None:
    if not args or {"-h", "--help"}.intersection(args):
        print(EVAL_USAGE)
        return None if args else fail("eval", "missing ckpt=PATH; see deepimg eval --help")
    ckpts = [a.partition("=")[2] for a in args if a.startswith("ckpt=")]
    if len(ckpts) != 1:
        fail("eval", "give exactly one ckpt=PATH (a checkpoint, A,B,C, or a sweep folder)")
    if not ckpts[0].strip():  # never "the folder I am in"
        fail("eval", "ckpt= names nothing; give ckpt=PATH (a checkpoint, A,B,C, or a sweep folder)")
    from deepimg.commands.evaluate import evaluate

    out = [a.partition("=")[2] for a in args if a.startswith("hydra.run.dir=")]
    overrides = [a for a in args if not a.startswith(("ckpt=", "hydra.run.dir="))]
    evaluate(ckpts[0], overrides, Path(out[-1]) if out else None)


def report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepimg report",
        description="Scan sweep folders for runs; write DIR/report/ (index.html, a self-contained "
        "page; summary.csv and summary.md; one PNG per metric and swept numeric parameter, a "
        "heatmap for two) and print the table. Several folders (deepimg report A B) are "
        "compared on shared axes, in A/report-vs-B/ unless --out is given.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="a sweep folder, or a folder of sweeps")
    parser.add_argument(
        "--metrics",
        help="comma-separated metric names from metrics.json (default: the runs' task's test "
        "metrics and baselines: test/acc,test/f1,test/auroc for classify; test/psnr,test/ssim,"
        "test/mse,test/psnr_baseline,test/ssim_baseline for restore)",
    )
    parser.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="the value of a categorical swept parameter that the others are compared with "
        "(default: the fixed or first one, e.g. learnable=false); repeatable",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the report (default: DIR/report, or A/report-vs-B for several)",
    )
    return parser


def report_command(args: list[str]) -> None:
    parser = report_parser()

    def error(message: str) -> None:
        raise UserError(f"{message}; see deepimg report --help")

    parser.error = error
    ns = parser.parse_args(args)
    from deepimg.commands.report import report

    metrics = [m for m in ns.metrics.split(",") if m] if ns.metrics else None
    references = {}
    for line in ns.reference:
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise UserError(
                f"--reference '{line}' is not KEY=VALUE, e.g. --reference learnable=false"
            )
        references[key] = value
    report(ns.dirs, metrics=metrics, out=ns.out, references=references)


def is_ddp_rank() -> bool:
    """Is this process a rank that Lightning's DDP launcher started (not the first one)?
    It sets LOCAL_RANK for those, and passes the run's Hydra overrides without a command."""
    return os.environ.get("LOCAL_RANK", "0") != "0"


def train_command(args: list[str]) -> None:
    """``deepimg train``: see ``deepimg.commands.launch``."""
    from deepimg.commands.launch import train_command as launch

    launch(args)


INFO_USAGE = """usage: deepimg info [OVERRIDE ...] [-m]

Bits per pixel of a design, without training: the mutual information between the scenes and
their noisy measurements, estimated from patches (a Gaussian fitted on the validation scenes,
evaluated on the test scenes, less the noise's own entropy), in electrons before any ADC,
with a 95% CI. It takes the config groups, overrides and sweeps of `deepimg train`, and
writes each design's metrics.json (info/bits_per_pixel) into a run folder that
`deepimg report` reads. The physical layer needs a noise model (noise, sensor, or cfa with
physical_layer.photons). Estimates below about 20 electrons a pixel are flagged.

examples:
  deepimg info physical_layer=noise photons=10,100,1000 -m
  deepimg info physical_layer=sensor physical_layer.parts.blur.sigma=0.5,1,2,3 -m
"""


def info_command(args: list[str]) -> None:
    """``deepimg info``: see ``deepimg.commands.info``."""
    if args and args[0] in ("-h", "--help"):
        print(INFO_USAGE)
        return
    from deepimg.commands.info import info_command as info

    info(args)


COMMANDS = {
    "train": train_command, "eval": eval_command, "report": report_command, "info": info_command,
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if args else sys.stderr)  # no command: a usage error
        sys.exit(0 if args else 2)
    if args[0] in ("-V", "--version"):
        print(f"deepimg {__version__}")
        return
    command = args[0]
    if command not in COMMANDS and is_ddp_rank():
        from deepimg.commands.hydra_app import run_hydra
        from deepimg.commands.jobs import train_job

        try:
            run_hydra(train_job, args, "train")  # another rank of a DDP run: see run_hydra
        except UserError as err:
            fail("train", err)
        return
    if command not in COMMANDS:
        fail("", f"unknown command '{command}'; accepted: {', '.join(COMMANDS)}")
    try:
        COMMANDS[command](args[1:])
    except UserError as err:
        fail(command, err)
    except KeyboardInterrupt:
        print(f"deepimg {command}: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
