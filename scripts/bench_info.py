"""Benchmark: ``deepimg info`` over a sweep of 10 designs on Fashion-MNIST, in one process.

The issue's goal is the whole sweep in under a minute on 2 cores. The designs are 10 photon
budgets of the noise layer (``physical_layer=noise photons=...``); each job images up to
5,000 validation and 5,000 test scenes and fits its estimate. The last line printed is JSON.

    python scripts/bench_info.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEEPIMG = str(Path(sys.executable).with_name("deepimg"))
PHOTONS = "3,10,30,100,300,1000,3000,10000,30000,100000"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = subprocess.run(
            [DEEPIMG, "info", "physical_layer=noise", f"photons={PHOTONS}", "hydra.sweep.dir=sweep", "-m"],
            cwd=tmp, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"deepimg info failed: {result.stderr[-800:]}")
        runs = sorted(
            Path(tmp, "sweep").glob("[0-9]*/metrics.json"), key=lambda p: int(p.parent.name)
        )
        metrics = [json.loads(p.read_text()) for p in runs]
    bits = [round(m["info/bits_per_pixel"], 3) for m in metrics]
    print(f"10 designs (photons {PHOTONS}): {wall:.1f} s wall")
    print(f"bits per pixel: {bits}")
    print(json.dumps({"designs": len(metrics), "wall_s": round(wall, 1), "bits_per_pixel": bits}))


if __name__ == "__main__":
    main()
