"""The statistics of a paired comparison, on constructed data whose answer is known."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats

from deepimg.analysis.statistics import (
    Comparison,
    PairingError,
    check_same_images,
    compare_per_image,
    compare_seed_means,
    holm,
    mcnemar_p,
    mean_ci,
    within_margin,
)


def images(seed: int, n: int = 800) -> np.ndarray:
    """Per-image PSNR-like scores that vary a lot from image to image (SD 5 dB)."""
    return np.random.default_rng(seed).normal(30.0, 5.0, n)


def test_identical_runs_give_a_ci_around_zero_and_p_of_one() -> None:
    same = {s: images(s) for s in range(3)}
    result = compare_per_image("test/psnr", same, same, ("a", "b"))
    assert result.difference == 0 and result.low <= 0 <= result.high
    assert result.p == 1.0 and not result.shown
    assert "no difference shown" in result.sentence()


def test_a_known_shift_is_recovered_within_its_ci() -> None:
    rng = np.random.default_rng(1)
    reference = {s: images(s) for s in range(3)}
    shifted = {s: v + 0.4 + rng.normal(0, 0.3, v.size) for s, v in reference.items()}
    result = compare_per_image("test/psnr", shifted, reference, ("learned", "bayer"))
    assert result.low < 0.4 < result.high and result.high - result.low < 0.1
    assert result.shown and result.p < 1e-6 and result.test == "Wilcoxon"
    assert re.match(
        r"learned vs bayer: test/psnr \+0\.\d{4} \[\+0\.\d{4}, \+0\.\d{4}\]", result.sentence()
    )
    assert "3 seeds × 800 test images, Wilcoxon p < 1e-6" in result.sentence()
    # the same shift, unpaired: the per-image spread (SD 5) hides it in the seeds' CIs
    low, high = mean_ci(np.concatenate(list(reference.values())))[1:]
    assert high - low > 0.4


def test_mcnemar_on_right_and_wrong_matches_statsmodels_and_the_exact_binomial() -> None:
    from statsmodels.stats.contingency_tables import mcnemar

    table = [[50, 3], [12, 35]]  # rows: setting right/wrong; columns: reference right/wrong
    setting = np.array([1] * 53 + [0] * 47, dtype=float)
    reference = np.array([1] * 50 + [0] * 3 + [1] * 12 + [0] * 35, dtype=float)
    expected = mcnemar(table, exact=True).pvalue
    assert mcnemar_p(setting, reference) == pytest.approx(expected)
    assert expected == pytest.approx(stats.binomtest(3, 15, 0.5).pvalue)
    result = compare_per_image("test/acc", {0: setting}, {0: reference}, ("a", "b"))
    assert result.test == "McNemar" and result.p == pytest.approx(expected)


def test_runs_tested_on_different_images_are_not_paired() -> None:
    with pytest.raises(PairingError, match="tested on different images") as caught:
        check_same_images(np.arange(5.0), np.arange(5.0) + 1, ("bits=1", "bits=8"))
    assert "\n" not in str(caught.value)
    check_same_images(np.arange(5.0), np.arange(5.0), ("a", "b"))  # the same: no error


def test_seed_means_give_a_paired_t_and_holm_corrects_a_family() -> None:
    ours = {0: 0.91, 1: 0.92, 2: 0.93}
    theirs = {0: 0.90, 1: 0.905, 2: 0.915}
    result = compare_seed_means("test/acc", ours, theirs, ("a", "b"))
    assert result.test == "paired t" and result.seeds == 3 and result.images == 0
    assert result.p == pytest.approx(
        stats.ttest_rel([0.91, 0.92, 0.93], [0.90, 0.905, 0.915]).pvalue
    )
    family = [result, compare_seed_means("test/acc", theirs, ours, ("c", "b"))]
    holm(family)
    assert all(c.p_holm is not None and c.p_holm >= c.p for c in family)


def test_the_smallest_setting_within_the_margin_of_the_best() -> None:
    bits, accuracy = [1, 2, 3, 4, 8], [0.87, 0.90, 0.905, 0.909, 0.908]
    assert within_margin(bits, accuracy, lower_is_better=False, margin=0.01) == (4, 2)
    errors = [4.0, 2.0, 1.01, 1.0]
    assert within_margin([8, 16, 32, 64], errors, lower_is_better=True, margin=0.02) == (64, 32)


def test_a_few_changed_answers_are_no_shown_difference() -> None:
    """Three images wrong instead of right out of 718, none the other way: McNemar's exact
    p is 0.25, and the CI of the difference spans 0 with it (a bootstrap would not)."""
    reference = np.ones(718)
    setting = reference.copy()
    setting[:3] = 0
    result = compare_per_image("test/acc", {0: setting}, {0: reference}, ("a", "b"))
    assert result.p == pytest.approx(0.25) and result.low < 0 < result.high
    assert not result.shown
    many = reference.copy()
    many[:60] = 0  # 60 of 718 lost: a real difference
    result = compare_per_image("test/acc", {0: many}, {0: reference}, ("a", "b"))
    assert result.high < 0 and result.p < 1e-6
    assert result.low < -60 / 718 < result.high


def test_a_ci_that_excludes_zero_with_a_test_that_disagrees_is_no_shown_difference() -> None:
    """At the margin the bootstrap CI can exclude 0 while the exact test gives p > 0.05 (a
    cameras sweep: -0.0020 [-0.0040, -0.0000], McNemar p = 0.053): not shown."""
    edge = Comparison("test/acc", "a", "b", -0.002, -0.004, -1e-6, 2, 10_000, "McNemar", 0.053)
    assert not edge.shown and edge.sentence().endswith("no difference shown")
    both = Comparison("test/acc", "a", "b", -0.002, -0.004, -1e-6, 2, 10_000, "McNemar", 0.01)
    assert both.shown
    corrected = Comparison("test/acc", "a", "b", -0.002, -0.004, -1e-6, 2, 10_000, "McNemar",
                           0.01, p_holm=0.06)  # fmt: skip
    assert not corrected.shown


def test_a_ci_over_five_seeds_of_ten_thousand_images_fits_in_memory() -> None:
    """BCa's jackknife, unbatched, held n x (n - 1) indices: 18.6 GiB for 5 x 10,000 test
    images, and the report was killed. Batched (and percentile above BCA_MAX), it is small."""
    import tracemalloc

    right = (np.random.default_rng(0).random(50_000) < 0.85).astype(float)
    tracemalloc.start()
    mean, low, high = mean_ci(right)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**30, f"peak {peak / 2**20:.0f} MiB"
    half = 1.96 * np.sqrt(0.85 * 0.15 / 50_000)  # the normal interval of a proportion
    assert low < mean < high and abs((high - low) / 2 - half) < 0.1 * half


def test_a_margin_answer_without_a_ci_says_why_rather_than_nan() -> None:
    """One seed of a metric with no per-image values (COCO mAP): no CI to give."""
    from deepimg.analysis.comparisons import margin_answer

    nan = float("nan")
    points = [
        {"value": v, "mean": m, "low": nan, "high": nan, "seeds": 1, "images": 0}
        for v, m in ((8, 0.47), (14, 0.58), (28, 0.57))
    ]
    answer = margin_answer("pixels", "", "test/map50", points, lower_is_better=False)
    assert "nan" not in answer and "no CI" in answer and "per-image" in answer
    assert "pixels=14" in answer and "0.58" in answer
