"""What a sweep answers: each swept parameter's effect on the task metric, with its confidence.

* A **categorical** parameter (``learnable``, ``pattern``, ``model``, ...): every value against a
  reference (the fixed or first value, or the one ``--reference`` names), paired on the same
  seeds and test images (``statistics.compare_per_image``), or on the seeds' means where runs
  saved no per-image results; Holm's correction over the values compared with one reference.
* A **numeric** parameter (``bits``, ``sigma``, ...): each point's mean with its 95% CI, and
  the smallest setting within ``margin`` of the best ("3 bits reach 99% of the best").

Runs come as the report's table (one row per run: parameter columns, metrics, ``status``,
``run``) and each run's per-image records (``per_image.npz``, by run folder).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from deepimg.analysis.statistics import (
    Comparison,
    PairingError,
    check_same_images,
    compare_per_image,
    compare_seed_means,
    holm,
    is_within,
    mean_ci,
    seed_mean_ci,
    within_margin,
)
from deepimg.analysis.sweep_tables import CI_ENDS, finished_runs

SEED = "seed"
REFERENCES = (
    "false",
    "fixed",
    "none",
    "bayer",
    "uniform",
    "grid",
    "classical",
)  # the "fixed" value
MARGIN = 0.01


@dataclass
class Findings:
    """The answer sentences, the comparisons behind them, each point's mean and CI, notes on
    what could not be compared, and for each metric whether its best setting is shown to be
    better than the runner-up (only then does the table star it)."""

    answers: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    best_shown: dict[str, bool] = field(default_factory=dict)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def reference_value(values: list[str], given: str | None) -> str:
    """The value the others are compared with: ``given``, else the fixed-looking one, else
    the first."""
    if given is not None:
        if given not in values:
            raise ValueError(
                f"--reference value '{given}' is not swept; swept: {', '.join(values)}"
            )
        return given
    return next((v for v in values if v.lower() in REFERENCES), values[0])


def per_image_key(metric: str) -> str:
    return metric.removeprefix("test/")


def seeds_of(part: pd.DataFrame) -> list[int]:
    return [int(s) for s in part[SEED]] if SEED in part else list(range(len(part)))


def sample(
    part: pd.DataFrame, metric: str, records: dict[str, dict[str, np.ndarray]]
) -> tuple[dict[int, np.ndarray] | None, dict[int, float], dict[int, np.ndarray]]:
    """For the runs of one setting: ``{seed: per-image values}`` (None where a run saved
    none), ``{seed: the run's mean}`` and ``{seed: image fingerprints}``."""
    key = per_image_key(metric)
    images: dict[int, np.ndarray] | None = {}
    means: dict[int, float] = {}
    prints: dict[int, np.ndarray] = {}
    for seed, (_, row) in zip(seeds_of(part), part.iterrows(), strict=True):
        means[seed] = float(row[metric]) if pd.notna(row[metric]) else math.nan
        found = records.get(str(row["run"]), {})
        if images is not None and key in found and "fingerprint" in found:
            images[seed] = np.asarray(found[key], dtype=np.float64)
            prints[seed] = np.asarray(found["fingerprint"])
        else:
            images = None
    return images, means, prints


def compare(
    metric: str,
    ours: pd.DataFrame,
    theirs: pd.DataFrame,
    labels: tuple[str, str],
    records: dict[str, dict[str, np.ndarray]],
) -> Comparison:
    """``ours`` (the runs of one setting) against ``theirs`` (the reference's), paired."""
    a_images, a_means, a_prints = sample(ours, metric, records)
    b_images, b_means, b_prints = sample(theirs, metric, records)
    if a_images and b_images:
        for seed in set(a_prints) & set(b_prints):
            check_same_images(a_prints[seed], b_prints[seed], labels)
        comparison = compare_per_image(metric, a_images, b_images, labels)
    else:
        comparison = compare_seed_means(metric, a_means, b_means, labels)
    comparison.unit = " dB" if "psnr" in metric else ""
    return comparison


def contexts(done: pd.DataFrame, others: list[str]):
    if not others:
        yield "", done
        return
    for values, part in done.groupby(others, dropna=False, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        yield ", ".join(f"{k}={v}" for k, v in zip(others, values, strict=True)), part


def categorical(
    done: pd.DataFrame,
    param: str,
    params: list[str],
    metrics: list[str],
    records: dict[str, dict[str, np.ndarray]],
    given: str | None,
    findings: Findings,
) -> None:
    others = [p for p in params if p not in (param, SEED)]
    for context, part in contexts(done, others):
        values = sorted(part[param].astype(str).unique())
        if len(values) < 2:
            continue
        reference = reference_value(values, given)
        for metric in metrics:
            family = []
            for value in (v for v in values if v != reference):
                ours = part[part[param].astype(str) == value]
                theirs = part[part[param].astype(str) == reference]
                where = f" ({context})" if context else ""
                labels = (f"{param}={value}{where}", f"{param}={reference}")
                try:
                    family.append(compare(metric, ours, theirs, labels, records))
                except PairingError as err:
                    findings.notes.append(str(err))
            holm(family)
            findings.comparisons += family


def own_ci(runs: pd.DataFrame, metric: str) -> tuple[float, float, float] | None:
    """The value and 95% CI that a single run estimated itself (``deepimg info`` writes
    ``METRIC_low`` and ``METRIC_high``), or None."""
    row = runs.iloc[0]
    ends = [f"{metric}{end}" for end in CI_ENDS]
    if not all(e in runs.columns and pd.notna(row[e]) for e in ends):
        return None
    return float(row[metric]), float(row[ends[0]]), float(row[ends[1]])


def numeric(
    done: pd.DataFrame,
    param: str,
    params: list[str],
    metrics: list[str],
    records: dict[str, dict[str, np.ndarray]],
    lower: set[str],
    findings: Findings | None,
) -> list[dict]:
    """Each setting's mean and 95% CI (over the images and seeds pooled, or over the seeds'
    means); for a numeric parameter (``findings`` given) the margin answer too."""
    others = [p for p in params if p not in (param, SEED)]
    rows = []
    for context, part in contexts(done, others):
        for metric in metrics:
            settings = []
            for value, runs in part.groupby(param, sort=True):
                images, seed_means, _ = sample(runs, metric, records)
                if images:
                    mean, low, high = mean_ci(np.concatenate(list(images.values())))
                    n_images = len(next(iter(images.values())))
                elif len(runs) == 1 and (own := own_ci(runs, metric)) is not None:
                    mean, low, high = own  # one run that estimated its CI
                    n_images = 0
                else:
                    mean, low, high = seed_mean_ci(np.array(list(seed_means.values())))
                    n_images = 0
                rows.append({"parameter": param, "context": context, "metric": metric,
                             "value": value, "mean": mean, "low": low, "high": high,
                             "seeds": len(runs), "images": n_images})  # fmt: skip
                settings.append(value)
            if findings is not None and len(settings) > 1 and metric == metrics[0]:
                points = rows[len(rows) - len(settings) :]
                findings.answers.append(
                    margin_answer(param, context, metric, points, metric in lower)
                )
    return rows


def margin_answer(
    param: str, context: str, metric: str, points: list[dict], lower_is_better: bool
) -> str:
    """The smallest setting within the margin of the best, with both CIs: "bits: bits=3
    reaches 99% of the best test/acc, 0.905 [0.899, 0.911] against 0.910 [0.904, 0.915] at
    bits=5 (95% CIs, 3 seeds × 10,000 test images)"."""
    settings = [point["value"] for point in points]
    best, enough = within_margin(
        settings, [point["mean"] for point in points], lower_is_better, MARGIN
    )
    at = {point["value"]: point for point in points}
    n = at[best]
    seeds = f"{n['seeds']} seed{'s' if n['seeds'] != 1 else ''}"
    count = seeds + (f" × {n['images']:,} test images" if n["images"] else "")
    # A metric of the whole test set (COCO mAP) has no per-image values: with one seed
    # there is nothing to draw a CI from, and the answer says so instead of "[nan, nan]".
    no_ci = any(np.isnan(p["low"]) or np.isnan(p["high"]) for p in points)
    if no_ci:
        count = f"{seeds}, no CI: {metric} has no per-image values; more seeds give one"

    def shown(p: dict) -> str:
        return f"{p['mean']:.4g}" if no_ci else f"{p['mean']:.4g} [{p['low']:.4g}, {p['high']:.4g}]"

    where = f" ({context})" if context else ""
    if enough == best:  # the smallest setting is the best: say which others come close
        near = [
            f"{s:g}"
            for s in settings
            if s != best and is_within(at[s]["mean"], n["mean"], lower_is_better, MARGIN)
        ]
        others = (
            f"{param}={', '.join(near)} {'comes' if len(near) == 1 else 'come'} within "
            f"{100 * MARGIN:g}% of it"
            if near
            else f"no other setting comes within {100 * MARGIN:g}% of it"
        )
        return (
            f"{param}{where}: the best {metric} is at {param}={best:g}, {shown(n)}; {others} "
            f"({count if no_ci else '95% CI, ' + count})"
        )
    reach = (
        f"comes within {100 * MARGIN:g}% of"
        if lower_is_better
        else f"reaches {100 * (1 - MARGIN):g}% of"
    )
    return (
        f"{param}{where}: {param}={enough:g} {reach} the best {metric}, {shown(at[enough])} "
        f"against {shown(n)} at {param}={best:g} ({count if no_ci else '95% CIs, ' + count})"
    )


def best_is_shown(
    done: pd.DataFrame,
    params: list[str],
    metric: str,
    lower: bool,
    records: dict[str, dict[str, np.ndarray]],
) -> bool:
    """Whether the best setting (every parameter but the seed) beats the runner-up with a CI
    that excludes 0: only then is it starred."""
    keys = [p for p in params if p != SEED]
    if not keys:
        return False
    means = done.groupby(keys, dropna=False, sort=True)[metric].mean().dropna()
    if len(means) < 2:
        return False
    as_tuple = lambda key: key if isinstance(key, tuple) else (key,)  # noqa: E731
    order = [as_tuple(k) for k in means.sort_values(ascending=lower).index]
    groups = {as_tuple(k): g for k, g in done.groupby(keys, dropna=False, sort=True)}
    try:
        comparison = compare(
            metric, groups[order[0]], groups[order[1]], ("best", "runner-up"), records
        )
    except PairingError:
        return False
    return comparison.shown


def find(
    table: pd.DataFrame,
    params: list[str],
    metrics: list[str],
    records: dict[str, dict[str, np.ndarray]],
    lower: set[str],
    references: dict[str, str] | None = None,
) -> Findings:
    """Everything the sweep shows, for each swept parameter (see the module)."""
    references = references or {}
    findings = Findings()
    done = finished_runs(table, metrics)  # numbers, and a run's own CI of them, or NaN
    main = [m for m in metrics if not m.endswith("_baseline")]
    if done.empty or not main:
        return findings
    rows: list[dict] = []
    for param in (p for p in params if p != SEED):
        if done[param].nunique(dropna=True) < 2:
            continue
        if is_numeric(done[param]):
            rows += numeric(done, param, params, main, records, lower, findings)
        else:
            rows += numeric(done, param, params, main, records, lower, None)
            before = len(findings.comparisons)
            categorical(done, param, params, main, records, references.get(param), findings)
            findings.answers += [
                c.sentence() for c in findings.comparisons[before:] if c.metric == main[0]
            ]
    findings.points = pd.DataFrame(rows)
    findings.best_shown = {m: best_is_shown(done, params, m, m in lower, records) for m in main}
    return findings
