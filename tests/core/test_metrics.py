"""Every metric against a reference, and their properties.

References: scikit-learn (point-wise, ROC-AUC, average precision), TSB-AD 1.5 (VUS, affiliation, PA-F1, composite
F1), prts 1.0.0.3 (range-based), tadpak 0.3.3 (PA%K). TSB-AD and prts pin numpy<2 but run on numpy 2, so
`make setup` installs the three with --no-deps into <venv>/test-references, outside site-packages (runtime
`pip check` stays clean); these tests add that folder to sys.path. Without it they skip, except under CI, where
they fail. Event-wise metrics and the PA%K area have no installable reference: their cases are computed by hand
from the papers' definitions.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from tsad.core import metrics

REFERENCES = Path(sys.prefix) / "test-references"


def reference(module: str):
    """Import a reference implementation from <venv>/test-references (installed by `make setup`)."""
    if REFERENCES.is_dir() and str(REFERENCES) not in sys.path:
        sys.path.append(str(REFERENCES))  # appended: it can never shadow a runtime package
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"reference {module} not installed: run `make setup`")


def random_case(rng: np.random.Generator, n: int | None = None, ends_normal: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels with a few segments, scores that rise inside them, and flags at a random quantile."""
    n = int(n or rng.integers(30, 400))
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(int(rng.integers(1, 6))):
        start = int(rng.integers(0, n))
        labels[start:start + int(rng.integers(1, 30))] = 1
    if ends_normal:
        labels[-1] = 0
    if labels.sum() == 0:
        labels[n // 2] = 1
    scores = rng.random(n) + labels * rng.random() * 0.8
    flags = scores > np.quantile(scores, rng.uniform(0.5, 0.99))
    flags[int(rng.integers(0, n))] = True
    return labels, scores, flags


def flag_metrics(labels: np.ndarray, flags: np.ndarray, pa_k: np.ndarray = np.arange(0, 101)) -> dict[str, float]:
    """``metrics.flag_metrics`` with Tatbul et al.'s plain range options (no existence weight, flat bias, one)."""
    return metrics.flag_metrics(labels, flags, range_alpha=0.0, range_bias="flat", range_cardinality="one", pa_k=pa_k)


labels_and_scores = st.integers(2, 200).flatmap(lambda n: st.tuples(
    arrays(np.int8, n, elements=st.integers(0, 1)), arrays(np.float64, n, elements=st.floats(0, 1))))


# --------------------------------------------------------------------------------------------------- references
def test_point_wise_and_threshold_free_match_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(50):
        labels, scores, flags = random_case(rng)
        scores = np.round(scores, 1)  # ties
        precision, recall, f1 = metrics.precision_recall_f1(labels, flags)
        assert precision == pytest.approx(precision_score(labels, flags, zero_division=0), abs=1e-12)
        assert recall == pytest.approx(recall_score(labels, flags, zero_division=0), abs=1e-12)
        assert f1 == pytest.approx(f1_score(labels, flags, zero_division=0), abs=1e-12)
        assert metrics.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
        assert metrics.pr_auc(labels, scores) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)


def test_vus_matches_tsb_ad():
    basic_metrics = reference("TSB_AD.evaluation.basic_metrics")
    rng = np.random.default_rng(1)
    for window in (0, 1, 7, 20, 100):
        labels, scores, _ = random_case(rng, n=int(rng.integers(300, 2000)))
        if window == 7:
            scores = np.round(scores, 2)  # ties between thresholds
        *_, vus_roc, vus_pr = basic_metrics.generate_curve(labels, scores, window, "opt", 250)
        ours = metrics.vus(labels, scores, window, 250)
        assert ours == pytest.approx((vus_roc, vus_pr), abs=1e-12)
    labels = np.zeros(500, dtype=np.int64)
    labels[[0, 3, 4, 5, 498, 499]] = 1  # segments at both ends, single points, margins that meet
    scores = rng.random(500)
    *_, vus_roc, vus_pr = basic_metrics.generate_curve(labels, scores, 10, "opt", 50)
    assert metrics.vus(labels, scores, 10, 50) == pytest.approx((vus_roc, vus_pr), abs=1e-12)


def test_affiliation_matches_tsb_ad():
    affiliation = reference("TSB_AD.evaluation.affiliation.metrics")
    generics = reference("TSB_AD.evaluation.affiliation.generics")
    rng = np.random.default_rng(2)
    for _ in range(100):
        labels, _, flags = random_case(rng)
        expected = affiliation.pr_from_events(generics.convert_vector_to_events(flags.astype(int)),
                                              generics.convert_vector_to_events(labels), (0, len(labels)))
        precision, recall = metrics.affiliation_precision_recall(labels, flags)
        assert precision == pytest.approx(expected["Affiliation_Precision"], abs=1e-12)
        assert recall == pytest.approx(expected["Affiliation_Recall"], abs=1e-12)


def test_range_based_matches_prts():
    prts = reference("prts")
    rng = np.random.default_rng(3)
    for _ in range(40):
        labels, _, flags = random_case(rng)
        for alpha in (0.0, 0.2, 1.0):
            for bias in ("flat", "front", "back", "middle"):
                for cardinality in ("one", "reciprocal"):
                    precision, recall = metrics.range_precision_recall(labels, flags, alpha, bias, cardinality)
                    kwargs = {"cardinality": cardinality, "bias": bias}
                    assert recall == pytest.approx(prts.ts_recall(labels, flags.astype(int), alpha=alpha, **kwargs),
                                                   abs=1e-12)
                    assert precision == pytest.approx(prts.ts_precision(labels, flags.astype(int), alpha=0.0,
                                                                        **kwargs), abs=1e-12)


def test_pa_k_matches_tadpak():
    pak = reference("tadpak.pak")
    rng = np.random.default_rng(4)
    for _ in range(50):
        labels, scores, _ = random_case(rng)
        cut = np.quantile(scores, rng.uniform(0.3, 0.95))
        for k in (0, 10, 33, 50, 100):
            expected = pak.pak(scores.copy(), labels, cut, k)
            np.testing.assert_array_equal(metrics.point_adjust_k(labels, scores > cut, k), expected)


def test_point_adjusted_and_composite_f1_match_tsb_ad():
    basic_metrics = reference("TSB_AD.evaluation.basic_metrics")
    grader = basic_metrics.basic_metricor()
    rng = np.random.default_rng(5)
    for _ in range(50):
        # TSB-AD drops the last point of an event that runs to the end of the series, so none does here.
        labels, scores, flags = random_case(rng, ends_normal=True)
        pa_f1 = metrics.precision_recall_f1(labels, metrics.point_adjust(labels, flags))[2]
        assert pa_f1 == pytest.approx(grader.metric_PointF1PA(labels, scores, preds=flags.astype(int)), abs=1e-12)
        # TSB-AD's EventF1PA is Garg et al.'s composite F1, with 1e-15 added to the denominator.
        expected = grader.metric_EventF1PA(labels, scores, preds=flags.astype(int))
        assert flag_metrics(labels, flags)["composite_f1"] == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------------------------------- by hand
def test_point_adjust_by_hand():
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 1])
    flags = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(metrics.point_adjust(labels, flags), [1, 1, 1, 1, 0, 0, 0, 0])


def test_event_wise_and_composite_by_hand():
    # Events [1, 4) and [6, 8); flagged runs {0}, {2}, {9}: run {2} is in an event, {0} and {9} are not.
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 1, 0, 0])
    flags = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    precision, recall, f1 = metrics.event_precision_recall_f1(labels, flags)
    assert (precision, recall) == pytest.approx((1 / 3, 1 / 2))
    assert f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    # Composite: point precision 1/3 (one of three flags is labelled) with event recall 1/2.
    assert flag_metrics(labels, flags)["composite_f1"] == pytest.approx(0.4)


def test_pa_k_curve_and_area_by_hand():
    # One 10-point segment with 3 flags, one false positive: PA%K adjusts for K < 30 only.
    labels = np.zeros(20, dtype=int)
    labels[5:15] = 1
    flags = np.zeros(20, dtype=bool)
    flags[[5, 6, 7, 18]] = True
    curve = metrics.pa_k_curve(labels, flags, [0, 29, 30, 100])
    adjusted, raw = 2 * (10 / 11) * 1.0 / (10 / 11 + 1.0), 2 * 0.75 * 0.3 / (0.75 + 0.3)
    np.testing.assert_allclose(curve["f1"], [adjusted, adjusted, raw, raw])
    ks = np.arange(0, 101)
    f1 = np.where(ks < 30, adjusted, raw)
    expected = np.sum(np.diff(ks / 100) * (f1[1:] + f1[:-1]) / 2)
    assert metrics.pa_k_auc(labels, flags, ks) == pytest.approx(expected)


def test_range_based_by_hand():
    # Real ranges [2, 6) and [10, 12); predicted [4, 11): it covers half of the first range and half of the second.
    labels = np.zeros(14, dtype=int)
    labels[2:6] = labels[10:12] = 1
    flags = np.zeros(14, dtype=bool)
    flags[4:11] = True
    precision, recall = metrics.range_precision_recall(labels, flags, alpha=0.0)
    assert recall == pytest.approx((2 / 4 + 1 / 2) / 2)
    assert precision == pytest.approx(3 / 7)  # 3 of its 7 points are real, gamma = 1
    _, recall_with_existence = metrics.range_precision_recall(labels, flags, alpha=0.5)
    assert recall_with_existence == pytest.approx(0.5 * 1 + 0.5 * 0.5)
    precision_reciprocal, _ = metrics.range_precision_recall(labels, flags, cardinality="reciprocal")
    assert precision_reciprocal == pytest.approx(3 / 7 / 2)  # one predicted range meets two real ones
    _, back = metrics.range_precision_recall(labels, flags, bias="back")
    assert back == pytest.approx(((3 + 4) / 10 + 1 / 3) / 2)  # positions 3, 4 of 1..4; position 1 of 1..2


def test_affiliation_by_hand():
    # One event [4, 6) in [0, 10): zone [0, 10], L = 4, R = 4. A flag on [8, 9) sits 2-3 from the event: the
    # survival of distance d is (4 - d) * 2 / 10, whose mean over d in [2, 3] is 0.3.
    labels = np.zeros(10, dtype=int)
    labels[4:6] = 1
    flags = np.zeros(10, dtype=bool)
    flags[8] = True
    precision, recall = metrics.affiliation_precision_recall(labels, flags)
    assert precision == pytest.approx(0.3)
    # Recall: the nearest flagged point to y in [4, 6) is 8, d = 8 - y; P(|y - X| >= d) for X uniform on [0, 10]
    # is ((y - d)_+ + (10 - y - d)_+) / 10 = ((2y - 8) + 2) / 10, whose mean over y in [4, 6) is 0.2 + 0.2.
    assert recall == pytest.approx(0.4)
    assert metrics.affiliation_precision_recall(labels, labels > 0) == pytest.approx((1.0, 1.0))
    precision, recall = metrics.affiliation_precision_recall(labels, np.zeros(10, dtype=bool))
    assert np.isnan(precision) and recall == 0.0


# --------------------------------------------------------------------------------------------------- properties
@given(labels_and_scores, st.floats(0, 1))
def test_point_f1_matches_sklearn_and_pa_never_lowers_it(data, threshold):
    labels, scores = data
    flags = scores >= threshold
    precision, recall, f1 = metrics.precision_recall_f1(labels, flags)
    assert f1 == pytest.approx(f1_score(labels, flags, zero_division=0))
    assert 0 <= precision <= 1 and 0 <= recall <= 1
    assert flag_metrics(labels, flags)["pa_f1"] >= f1 - 1e-12


@settings(max_examples=60, deadline=None)
@given(labels_and_scores, st.floats(0, 1))
def test_every_metric_is_in_range_and_pa_bounds_hold(data, threshold):
    labels, scores = data
    flags = scores >= threshold
    values = flag_metrics(labels, flags, pa_k=np.arange(0, 101, 10))
    for name, value in values.items():
        assert np.isnan(value) or 0 <= value <= 1, (name, value)
    assert values["pa_f1"] >= values["f1"] - 1e-12
    curve = metrics.pa_k_curve(labels, flags, np.arange(0, 101, 10))["f1"]
    assert curve[0] == pytest.approx(values["pa_f1"]) and curve[-1] == pytest.approx(values["f1"])
    assert np.all(np.diff(curve) <= 1e-12)  # a larger K never adjusts more
    if labels.any() and not labels.all():
        for value in (metrics.roc_auc(labels, scores), metrics.pr_auc(labels, scores),
                      *metrics.vus(labels, scores, 10, 50)):
            assert 0 <= value <= 1 + 1e-12


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


@given(labels_and_scores, st.floats(0, 1), st.floats(0, 1))
def test_higher_threshold_never_flags_more(data, a, b):
    labels, scores = data
    low, high = min(a, b), max(a, b)
    assert flag_metrics(labels, scores >= high)["flagged_fraction"] <= \
        flag_metrics(labels, scores >= low)["flagged_fraction"]


@given(arrays(np.int8, st.integers(1, 200), elements=st.integers(0, 1)))
def test_an_all_correct_prediction_scores_one(labels):
    if not labels.any():
        labels[0] = 1
    flags = labels > 0
    values = flag_metrics(labels, flags, pa_k=np.arange(0, 101, 25))
    for name in ("precision", "recall", "f1", "pa_f1", "pa_k_auc", "event_f1", "composite_f1", "range_f1",
                 "affiliation_precision", "affiliation_recall", "affiliation_f1"):
        assert values[name] == pytest.approx(1.0), name
    scores = labels.astype(float)
    assert metrics.best_f1(labels, scores)["f1"] == 1.0
    if not labels.all():
        assert metrics.roc_auc(labels, scores) == 1.0 and metrics.pr_auc(labels, scores) == 1.0
        assert metrics.vus(labels, scores, 0, 20) == pytest.approx((1.0, 1.0))


def test_auc_is_nan_with_one_class():
    assert np.isnan(metrics.roc_auc(np.zeros(5), np.arange(5.0)))
    assert np.isnan(metrics.pr_auc(np.zeros(5), np.arange(5.0)))
    assert np.isnan(metrics.vus(np.zeros(5), np.arange(5.0))[0])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one length"):
        metrics.precision_recall_f1(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        metrics.roc_auc(np.array([0, 1]), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="bias"):
        metrics.range_precision_recall(np.array([0, 1]), np.array([1, 1]), bias="sideways")


def test_vus_pr_on_a_long_sparse_series_is_tsb_ads_and_reads_low_with_few_thresholds():
    """Issue 17's puzzle (VUS-PR far below PR-AUC on a long plant series with few short events) is TSB-AD's own
    behaviour, not a bug: its 250 thresholds sit every n / 250 ranks, and when that step exceeds the anomalous
    points the high-precision head of the PR curve falls between two thresholds and is lost. More thresholds
    recover it (``evaluation.vus.n_thresholds``)."""
    basic_metrics = reference("TSB_AD.evaluation.basic_metrics")
    rng = np.random.default_rng(5)
    n = 30_000
    labels = np.zeros(n, dtype=np.int64)
    for start in (2_000, 9_000, 15_500, 22_000, 27_300):  # 5 events of 15 points: 0.25 % anomalous
        labels[start:start + 15] = 1
    scores = rng.normal(size=n) + 4.0 * labels * rng.random(n)
    *_, tsb_roc, tsb_pr = basic_metrics.generate_curve(labels, scores, 100, "opt", 250)
    assert metrics.vus(labels, scores, 100, 250) == pytest.approx((tsb_roc, tsb_pr), abs=1e-12)
    pr_auc = metrics.pr_auc(labels, scores)
    coarse, fine = metrics.vus(labels, scores, 0, 250)[1], metrics.vus(labels, scores, 0, n // 2)[1]
    assert n / 250 > labels.sum()  # the rank step (120) exceeds the anomalous points (75)
    assert coarse < 0.5 * pr_auc  # the head of the curve is lost (0.090 against 0.256)
    assert fine == pytest.approx(pr_auc, rel=0.05)  # and found again with thresholds finer than the anomalies
