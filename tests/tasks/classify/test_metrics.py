"""The numbers behind the figures, on tiny predictions whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from deepimg.tasks.classify import metrics

# Six test images of three classes; the classifier confuses one 0 as a 1 and one 2 as a 0.
LABELS = np.array([0, 0, 1, 1, 2, 2])
PREDICTED = np.array([0, 1, 1, 1, 2, 0])


def test_confusion_counts_and_row_normalisation() -> None:
    counts = metrics.confusion_counts(LABELS, PREDICTED, num_classes=4)
    assert counts.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    normalised = metrics.row_normalised(counts)
    assert normalised[:3].tolist() == [[0.5, 0.5, 0, 0], [0, 1, 0, 0], [0.5, 0, 0.5, 0]]
    assert normalised[3].tolist() == [0, 0, 0, 0]  # a class without test images: no division by 0


def test_per_class_precision_recall_f1_support() -> None:
    table = metrics.per_class_table(LABELS, PREDICTED, ["a", "b", "c"])
    # class a: 1 of 2 predicted a are a, 1 of 2 a found; b: 2 of 3, 2 of 2; c: 1 of 1, 1 of 2
    assert table.loc["a"].tolist() == pytest.approx([0.5, 0.5, 0.5, 2])
    assert table.loc["b"].tolist() == pytest.approx([2 / 3, 1.0, 0.8, 2])
    assert table.loc["c"].tolist() == pytest.approx([1.0, 0.5, 2 / 3, 2])
    macro = table.loc["macro average"]
    assert macro["precision"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert macro["support"] == 6


def test_a_perfect_classifier_has_auroc_and_ap_of_one() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    probabilities = np.full((300, 3), 0.1)
    probabilities[np.arange(300), labels] = 0.8
    assert [c.score for c in metrics.roc_curves(labels, probabilities)] == [1.0, 1.0, 1.0]
    assert [c.score for c in metrics.pr_curves(labels, probabilities)] == [1.0, 1.0, 1.0]
    backwards = metrics.roc_curves(labels, 1 - probabilities)  # always ranks the true class last
    assert [c.score for c in backwards] == [0.0, 0.0, 0.0]


def test_a_random_classifier_has_auroc_near_one_half_and_ap_near_prevalence() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 20_000)
    probabilities = rng.dirichlet(np.ones(4), size=20_000)
    for roc, pr in zip(
        metrics.roc_curves(labels, probabilities),
        metrics.pr_curves(labels, probabilities),
        strict=True,
    ):
        assert roc.score == pytest.approx(0.5, abs=0.02)
        assert pr.score == pytest.approx(0.25, abs=0.02)  # each class's share of the images
        assert roc.x[0] == 0 and roc.x[-1] == 1 and (np.diff(roc.x) >= 0).all()


def test_a_class_absent_from_the_test_labels_has_no_auroc() -> None:
    labels = np.array([0, 1, 0, 1])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.2, 0.7, 0.1]])
    scores = [c.score for c in metrics.roc_curves(labels, probabilities)]
    assert scores[:2] == [1.0, 1.0] and np.isnan(scores[2])


def test_cluster_purity_is_one_for_separated_classes_and_low_without_structure() -> None:
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(4), 50)
    centres = 10 * np.eye(4, 8)
    separated = centres[labels] + rng.normal(0, 0.1, (200, 8))
    assert metrics.cluster_purity(separated, labels) == 1.0
    shuffled = rng.permutation(labels)  # the features carry nothing about these labels
    assert metrics.cluster_purity(separated, shuffled) < 0.5
