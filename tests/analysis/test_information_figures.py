"""Does bits per pixel rank a sweep's designs as the task metric does?"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from deepimg.analysis.information_figures import (
    BITS,
    information_answer,
    information_plot,
    rank_correlation,
)


def sweep(bits: list[float], acc: list[float], seeds: int = 2) -> pd.DataFrame:
    rows = [
        {"photons": 10**k, "seed": s, BITS: b, "test/acc": a + 0.001 * s}
        for k, (b, a) in enumerate(zip(bits, acc, strict=True)) for s in range(seeds)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_the_same_ranking_gives_one_and_the_reverse_minus_one() -> None:
    rho, low, high = rank_correlation(np.arange(6.0), np.arange(6.0) ** 2)
    assert rho == 1.0 and 0.5 < low < high <= 1.0
    assert rank_correlation(np.arange(6.0), -np.arange(6.0))[0] == -1.0
    rho, low, high = rank_correlation(np.arange(3.0), np.arange(3.0))
    assert rho == 1.0 and math.isnan(low) and math.isnan(high)  # 3 designs: no CI


def test_the_answer_names_the_correlation_over_designs_and_seeds_pool(tmp_path: Path) -> None:
    runs = sweep([1.0, 2.0, 3.0, 4.0, 5.0], [0.6, 0.7, 0.65, 0.8, 0.9])
    answer = information_answer(runs, ["photons", "seed"], "test/acc")
    assert answer is not None and "over 5 designs" in answer and "+0.90" in answer
    path = information_plot(runs, ["photons", "seed"], "test/acc", tmp_path / "acc_vs_bits.png")
    assert path.stat().st_size > 1000


def test_no_answer_without_bits_in_every_run_or_with_too_few_designs() -> None:
    runs = sweep([1.0, 2.0, 3.0], [0.6, 0.7, 0.8])
    assert information_answer(runs.drop(columns=[BITS]), ["photons", "seed"], "test/acc") is None
    runs.loc[0, BITS] = np.nan
    assert information_answer(runs, ["photons", "seed"], "test/acc") is None
    assert information_answer(sweep([1.0, 2.0], [0.6, 0.7]), ["photons"], "test/acc") is None
