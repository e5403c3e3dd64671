import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import f1_score

from tsad.core import metrics

labels_and_scores = st.integers(2, 200).flatmap(lambda n: st.tuples(
    arrays(np.int8, n, elements=st.integers(0, 1)), arrays(np.float64, n, elements=st.floats(0, 1))))


@given(labels_and_scores, st.floats(0, 1))
def test_point_f1_matches_sklearn_and_pa_never_lowers_it(data, threshold):
    labels, scores = data
    flags = scores >= threshold
    precision, recall, f1 = metrics.precision_recall_f1(labels, flags)
    assert f1 == pytest.approx(f1_score(labels, flags, zero_division=0))
    assert 0 <= precision <= 1 and 0 <= recall <= 1
    assert metrics.threshold_metrics(labels, scores, threshold)["pa_f1"] >= f1 - 1e-12


@given(labels_and_scores)
def test_best_f1_is_the_maximum_over_thresholds(data):
    labels, scores = data
    best = metrics.best_f1(labels, scores)
    brute = max(f1_score(labels, scores >= t, zero_division=0) for t in np.unique(scores))
    assert best["f1"] == pytest.approx(brute)
    assert metrics.precision_recall_f1(labels, scores >= best["threshold"])[2] == pytest.approx(best["f1"])


@given(labels_and_scores, st.floats(0, 1))
def test_point_adjusted_scores_give_pa_flags(data, threshold):
    labels, scores = data
    adjusted = metrics.point_adjusted_scores(labels, scores) >= threshold
    np.testing.assert_array_equal(adjusted, metrics.point_adjust(labels, scores >= threshold))


def test_point_adjust_by_hand():
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 1])
    flags = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(metrics.point_adjust(labels, flags), [1, 1, 1, 1, 0, 0, 0, 0])


def test_perfect_prediction_scores_one():
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = labels.astype(float)
    assert metrics.best_f1(labels, scores)["f1"] == 1.0
    assert metrics.roc_auc(labels, scores) == 1.0 and metrics.pr_auc(labels, scores) == 1.0
    assert metrics.threshold_metrics(labels, scores, 0.5)["f1"] == 1.0


def test_auc_is_nan_with_one_class():
    assert np.isnan(metrics.roc_auc(np.zeros(5), np.arange(5.0)))
    assert np.isnan(metrics.pr_auc(np.zeros(5), np.arange(5.0)))


@given(labels_and_scores, st.floats(0, 1), st.floats(0, 1))
def test_higher_threshold_never_flags_more(data, a, b):
    labels, scores = data
    low, high = min(a, b), max(a, b)
    assert metrics.threshold_metrics(labels, scores, high)["flagged_fraction"] <= \
        metrics.threshold_metrics(labels, scores, low)["flagged_fraction"]
