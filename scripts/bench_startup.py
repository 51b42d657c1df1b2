"""Benchmark: what a user waits for besides training, each figure from real `deepimg` processes.

* **refusal**: ``deepimg train physical_layer=quantize bits=0``, from start to the one line;
* **help**: ``deepimg train --help``;
* **fixed cost of a run**: the wall time of ``deepimg train dataset.train_size=1000
  trainer.max_epochs=1 analysis=none`` less its training time (``train_time_s``: training
  and validation), and less its test too (``test_time_s``: 10,000 test images): the overhead;
* **per extra sweep job**: a sweep of 3 seeds against one of 1, less the extra training;
* **analysis=basic**: the same run with the basic figures, less the run without them;
* with ``--tasks [TASK ...]``, **each task's first run** (or those named; ``--only-tasks``
  skips the figures above): ``deepimg train task=NAME`` with nothing else, its wall time and
  its headline metric against the classical baseline (a few minutes each).

Each is the median of ``--repeats`` runs (refusal and help) or one run (the others), in a
temporary folder. Figures vary with the machine's load: run it on a quiet machine. The last
line printed is JSON.

    python scripts/bench_startup.py [--repeats 3] [--tasks [TASK ...]] [--only-tasks]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEEPIMG = [str(Path(sys.executable).with_name("deepimg"))]  # the console script, as users run it
SMALL = ["dataset.train_size=1000", "trainer.max_epochs=1", "trainer.enable_progress_bar=false"]


def timed(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    """The wall time of one ``deepimg`` process, and its result."""
    start = time.perf_counter()
    result = subprocess.run([*DEEPIMG, *args], cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, result


def median_wall(args: list[str], cwd: Path, repeats: int, expect: int) -> float:
    walls = []
    for _ in range(repeats):
        wall, result = timed(args, cwd)
        if result.returncode != expect:
            sys.exit(f"deepimg {' '.join(args)} gave {result.returncode}: {result.stderr[-500:]}")
        walls.append(wall)
    return statistics.median(walls)


def recorded_seconds(folder: Path) -> tuple[float, float]:
    """The fit (training and validation) and test times that the runs under ``folder``
    recorded, each summed."""
    runs = [json.loads(p.read_text()) for p in folder.rglob("metrics.json")]
    return sum(m["train_time_s"] for m in runs), sum(m.get("test_time_s", 0.0) for m in runs)


def run_wall(
    name: str, extra: list[str], cwd: Path, sweep: bool = False
) -> tuple[float, float, float]:
    """Wall time, and recorded fit and test times, of a run (or sweep) into ``cwd/name``."""
    where = f"hydra.sweep.dir={name}" if sweep else f"hydra.run.dir={name}"
    wall, result = timed(["train", *SMALL, *extra, where], cwd)
    if result.returncode != 0:
        sys.exit(f"deepimg train {' '.join(extra)} failed: {result.stderr[-800:]}")
    return wall, *recorded_seconds(cwd / name)


FIRST_RUNS = {  # task: headline
    "restore": "psnr", "localize": "error_px", "segment": "dice", "detect": "map50",
    "depth": "rmse",
}  # fmt: skip


def first_runs(cwd: Path, figures: dict[str, float], tasks: list[str]) -> None:
    """``deepimg train task=NAME``, each as a user types it: wall time, metric and baseline."""
    for task in tasks:
        metric = FIRST_RUNS[task]
        wall, result = timed(["train", f"task={task}", f"hydra.run.dir={task}"], cwd)
        if result.returncode != 0:
            sys.exit(f"deepimg train task={task} failed: {result.stderr[-800:]}")
        metrics = json.loads((cwd / task / "metrics.json").read_text())
        value, baseline = metrics[f"test/{metric}"], metrics[f"test/{metric}_baseline"]
        figures[f"{task}_first_run_s"] = wall
        figures[f"{task}_{metric}"], figures[f"{task}_{metric}_baseline"] = value, baseline
        print(f"deepimg train task={task}: {wall:.0f} s wall, test/{metric} {value:.4f} "
              f"against the baseline's {baseline:.4f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of refusal and help")
    parser.add_argument(
        "--tasks", nargs="*", choices=sorted(FIRST_RUNS), metavar="TASK",
        help=f"also each task's first run (or only those named: {', '.join(FIRST_RUNS)})",
    )  # fmt: skip
    parser.add_argument(
        "--only-tasks", action="store_true", help="the first runs alone, no start-up figures"
    )
    args = parser.parse_args()
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        figures: dict[str, float] = {}
        if not args.only_tasks:
            startup(cwd, figures, args.repeats)
        if args.tasks is not None:
            first_runs(cwd, figures, args.tasks or list(FIRST_RUNS))
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


def startup(cwd: Path, figures: dict[str, float], repeats: int) -> None:
    """Refusal, help, one run, the cost of each sweep job, and of the basic figures."""
    bad = ["train", "physical_layer=quantize", "bits=0"]
    figures["refusal_s"] = median_wall(bad, cwd, repeats, expect=2)
    print(f"refusal (bits=0):          {figures['refusal_s']:.2f} s")
    figures["help_s"] = median_wall(["train", "--help"], cwd, repeats, expect=0)
    print(f"deepimg train --help:      {figures['help_s']:.2f} s")

    wall, train, test = run_wall("one", ["analysis=none"], cwd)
    figures["run_wall_s"], figures["run_train_s"], figures["run_test_s"] = wall, train, test
    figures["fixed_cost_s"] = wall - train
    figures["overhead_s"] = wall - train - test
    print(f"one run: {wall:.1f} s wall, {train:.1f} s training, {test:.1f} s testing: "
          f"{figures['fixed_cost_s']:.1f} s besides training, "
          f"{figures['overhead_s']:.1f} s besides training and testing")  # fmt: skip

    wall1, train1, test1 = run_wall("sweep1", ["analysis=none", "seed=0", "-m"], cwd, True)
    wall3, train3, test3 = run_wall("sweep3", ["analysis=none", "seed=0,1,2", "-m"], cwd, True)
    figures["per_sweep_job_s"] = ((wall3 - train3) - (wall1 - train1)) / 2
    figures["per_sweep_job_overhead_s"] = ((wall3 - train3 - test3) - (wall1 - train1 - test1)) / 2
    print(f"sweep of 1: {wall1:.1f} s, of 3: {wall3:.1f} s: each extra job costs "
          f"{figures['per_sweep_job_s']:.1f} s besides its training, "
          f"{figures['per_sweep_job_overhead_s']:.1f} s besides training and testing")  # fmt: skip

    wall_b, train_b, _ = run_wall("basic", ["analysis=basic"], cwd)
    figures["analysis_basic_s"] = (wall_b - train_b) - figures["fixed_cost_s"]
    print(f"analysis=basic adds {figures['analysis_basic_s']:.1f} s")


if __name__ == "__main__":
    main()
