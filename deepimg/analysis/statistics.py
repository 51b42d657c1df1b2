"""The statistics of a comparison of designs, paired on the same test images and seeds.

Two designs tested on the same images differ image by image far less than their means vary
from image to image, so pairing separates differences that unpaired error bars cannot: the
per-image PSNR of a CFA test set has an SD of 4.75 dB, its paired difference a CI of
±0.08 dB. Everything here comes from scipy and statsmodels:

* the 95% CI of the mean paired difference: ``scipy.stats.bootstrap`` over the (seed, image)
  pairs (BCa); for right/wrong outcomes Bonett and Price's interval for paired proportions;
* the p-value: the exact McNemar test for right/wrong outcomes (classification), the
  Wilcoxon signed-rank test on each image's difference (averaged over seeds) for continuous
  metrics, and a paired t-test over the seeds' means where only those exist;
* Holm's correction when one reference is compared with several settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 4999


class PairingError(ValueError):
    """Two runs that cannot be paired: they were tested on different images."""


@dataclass
class Comparison:
    """One setting against the reference, on one metric: the mean paired difference
    (setting minus reference) with its 95% CI, the test, its p-value and the counts."""

    metric: str
    setting: str
    reference: str
    difference: float
    low: float
    high: float
    seeds: int
    images: int
    test: str
    p: float
    p_holm: float | None = None
    unit: str = ""

    @property
    def shown(self) -> bool:
        """Whether the data show a difference: the CI excludes 0 and the test agrees (p, after
        Holm's correction where several were compared, below 0.05). Where the bootstrap and
        the exact test disagree at the margin, the conservative reading wins."""
        p = self.p_holm if self.p_holm is not None else self.p
        agrees = math.isnan(p) or p < 1 - CONFIDENCE
        return (self.low > 0 or self.high < 0) and agrees

    def sentence(self) -> str:
        """``learnable=true vs learnable=false: test/psnr +0.41 dB [+0.30, +0.52], 5 seeds ×
        2,000 test images, Wilcoxon p < 1e-6``; "no difference shown" where the CI spans 0."""
        p = self.p_holm if self.p_holm is not None else self.p
        holm = ", Holm-corrected" if self.p_holm is not None else ""
        counts = f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"
        counts += f" × {self.images:,} test images" if self.images else ""
        size = (
            max(abs(v) for v in (self.difference, self.low, self.high) if math.isfinite(v))
            if any(math.isfinite(v) for v in (self.difference, self.low, self.high))
            else 0.0
        )
        digits = 4 if size < 1 else 2  # accuracy to the fourth decimal, dB to the second
        d, lo, hi = (f"{v:+.{digits}f}" for v in (self.difference, self.low, self.high))
        text = (
            f"{self.setting} vs {self.reference}: {self.metric} {d}{self.unit} [{lo}, {hi}], "
            f"{counts}, {self.test} {format_p(p)}{holm}"
        )
        return text + ("" if self.shown else ": no difference shown")


def format_p(p: float) -> str:
    if math.isnan(p):
        return "p n/a"
    return "p < 1e-6" if p < 1e-6 else f"p = {p:.2g}"


# Values a bootstrap holds at once (resamples x sample size): 128 MiB of float64. Unbatched,
# BCa's jackknife of 5 seeds x 10,000 test images asked for 18.6 GiB.
BOOTSTRAP_VALUES = 2**24


# BCa's jackknife costs n^2: 17 s for 50,000 values (5 seeds x 10,000 test images) on 2
# cores. Its correction shrinks as 1/sqrt(n); above this size the percentile interval is used.
BCA_MAX = 5000


def batch_for(n: int) -> int:
    """Resamples (and jackknife samples) a bootstrap of ``n`` values computes at once."""
    return max(1, BOOTSTRAP_VALUES // n)


def mean_ci(values: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """The mean of ``values`` (NaN left out) and its 95% bootstrap CI (BCa; percentile above
    ``BCA_MAX`` values, where BCa's jackknife is slow and its correction negligible); a constant
    sample's CI is the value itself, a single value's is unknown (NaN)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if values.size == 1:
        return mean, math.nan, math.nan
    if np.ptp(values) == 0:
        return mean, mean, mean
    result = stats.bootstrap(
        (values,), np.mean, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
        method="BCa" if values.size <= BCA_MAX else "percentile",
        rng=np.random.default_rng(seed), batch=batch_for(values.size),
    )  # fmt: skip
    low, high = result.confidence_interval
    if not (math.isfinite(low) and math.isfinite(high)):  # BCa degenerate: percentile
        low, high = np.percentile(values, [2.5, 97.5])
    return mean, float(low), float(high)


def seed_mean_ci(means: np.ndarray) -> tuple[float, float, float]:
    """The mean over seeds and its t-based 95% CI, when only each seed's mean is known."""
    means = np.asarray(means, dtype=np.float64)
    means = means[np.isfinite(means)]
    if means.size < 2:
        return (float(means.mean()) if means.size else math.nan), math.nan, math.nan
    with np.errstate(invalid="ignore", divide="ignore"):  # identical seeds: sem 0
        interval = stats.t.interval(
            CONFIDENCE, means.size - 1, loc=means.mean(), scale=stats.sem(means)
        )
    if not all(math.isfinite(v) for v in interval):  # identical seeds: no spread
        return float(means.mean()), float(means.mean()), float(means.mean())
    return float(means.mean()), float(interval[0]), float(interval[1])


def check_same_images(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """Refuse to pair runs whose test images differ (their fingerprints, one per image)."""
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True):
        raise PairingError(
            f"{names[0]} and {names[1]} were tested on different images ({len(a)} and "
            f"{len(b)}, not the same ones), so they cannot be paired image by image"
        )


def is_binary(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool(np.isin(finite, (0.0, 1.0)).all())


def paired_proportions_ci(setting: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    """The difference of two paired proportions (right answers) and its 95% CI, Bonett and
    Price's adjusted Wald interval (2012). A bootstrap misleads here: when only a few images
    change from right to wrong, most resamples hold none of them. Neither scipy nor
    statsmodels has a paired interval, so it is written out: 1 is added to each discordant
    count, 2 to the total."""
    s, r = setting.astype(bool), reference.astype(bool)
    n, gained, lost = s.size, int((s & ~r).sum()), int((~s & r).sum())
    difference = (gained - lost) / n
    p_gained, p_lost = (gained + 1) / (n + 2), (lost + 1) / (n + 2)
    centre = p_gained - p_lost
    spread = math.sqrt(max(p_gained + p_lost - centre**2, 0.0) / (n + 2))
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    return difference, max(-1.0, centre - z * spread), min(1.0, centre + z * spread)


def mcnemar_p(setting: np.ndarray, reference: np.ndarray) -> float:
    """Exact McNemar test on paired right (1) / wrong (0) outcomes."""
    from statsmodels.stats.contingency_tables import mcnemar

    s, r = setting.astype(bool), reference.astype(bool)
    table = [[int((s & r).sum()), int((s & ~r).sum())], [int((~s & r).sum()), int((~s & ~r).sum())]]
    return float(mcnemar(table, exact=True).pvalue)


def wilcoxon_p(differences: np.ndarray) -> float:
    """Wilcoxon signed-rank test of per-image differences against 0 (1 where all are 0)."""
    differences = differences[np.isfinite(differences)]
    if differences.size == 0 or not np.any(differences):
        return 1.0
    return float(stats.wilcoxon(differences, zero_method="wilcox").pvalue)


def paired_t_p(setting_means: np.ndarray, reference_means: np.ndarray) -> float:
    """Paired t-test over the seeds' means (NaN with fewer than two seeds)."""
    if len(setting_means) < 2:
        return math.nan
    differences = np.asarray(setting_means) - np.asarray(reference_means)
    if not np.any(differences - differences.mean()):  # identical differences: t undefined
        return 1.0 if not np.any(differences) else 0.0
    return float(stats.ttest_rel(setting_means, reference_means).pvalue)


def compare_per_image(
    metric: str,
    setting: dict[int, np.ndarray],
    reference: dict[int, np.ndarray],
    labels: tuple[str, str],
    seed: int = 0,
) -> Comparison:
    """``setting`` against ``reference``, each ``{seed: per-image values}`` on the same
    images (their order): paired over the seeds both have and every image."""
    seeds = sorted(set(setting) & set(reference))
    if not seeds:
        raise PairingError(f"{labels[0]} and {labels[1]} share no seed to pair")
    differences = np.concatenate([setting[s] - reference[s] for s in seeds])
    ours, theirs = np.stack([setting[s] for s in seeds]), np.stack([reference[s] for s in seeds])
    if is_binary(ours) and is_binary(theirs):
        mean, low, high = paired_proportions_ci(ours.ravel(), theirs.ravel())
        test, p = "McNemar", mcnemar_p(ours.ravel(), theirs.ravel())
    else:
        mean, low, high = mean_ci(differences, seed)
        test, p = "Wilcoxon", wilcoxon_p(np.nanmean(ours - theirs, axis=0))
    return Comparison(
        metric, labels[0], labels[1], mean, low, high, len(seeds), ours.shape[1], test, p
    )


def compare_seed_means(
    metric: str, setting: dict[int, float], reference: dict[int, float], labels: tuple[str, str]
) -> Comparison:
    """The same comparison where only each seed's mean is known: a paired t over seeds."""
    seeds = sorted(set(setting) & set(reference))
    if not seeds:
        raise PairingError(f"{labels[0]} and {labels[1]} share no seed to pair")
    ours = np.array([setting[s] for s in seeds])
    theirs = np.array([reference[s] for s in seeds])
    mean, low, high = seed_mean_ci(ours - theirs)
    p = paired_t_p(ours, theirs)
    return Comparison(metric, labels[0], labels[1], mean, low, high, len(seeds), 0, "paired t", p)


def holm(comparisons: list[Comparison]) -> None:
    """Holm's correction of the p-values of comparisons against one reference, in place."""
    from statsmodels.stats.multitest import multipletests

    ps = [c.p for c in comparisons]
    if len(ps) < 2 or any(math.isnan(p) for p in ps):
        return
    corrected = multipletests(ps, method="holm")[1]
    for comparison, p in zip(comparisons, corrected, strict=True):
        comparison.p_holm = float(p)


def within_margin(
    settings: list[object], means: list[float], lower_is_better: bool, margin: float
) -> tuple[object, object]:
    """The best setting, and the first (smallest) setting whose mean is within ``margin``
    (relative, e.g. 0.01) of the best: "3 bits reach 99% of the best accuracy"."""
    order = sorted(range(len(settings)), key=lambda i: settings[i])
    values = np.asarray(means, dtype=np.float64)
    best = int(np.nanargmin(values) if lower_is_better else np.nanargmax(values))
    target = values[best]
    for i in order:
        if is_within(values[i], target, lower_is_better, margin):
            return settings[best], settings[i]
    return settings[best], settings[best]


def is_within(value: float, best: float, lower_is_better: bool, margin: float) -> bool:
    """Whether ``value`` is within ``margin`` (relative) of ``best``, in the metric's direction."""
    if lower_is_better:
        return value <= best * (1 + margin)
    return value >= best * (1 - margin if best >= 0 else 1 + margin)
