"""Window-level evaluation (TAnoGAN's protocol): window scores and flags from per-timestamp ones, window-level point
adjustment, kappa, and the per-entity table with its mean."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from tsad.core import thresholds
from tsad.core.frames import join_entities
from tsad.core.windows import WindowedSeries, to_timestamps
from tsad.pipelines.window_evaluation.nodes import (
    cohen_kappa,
    evaluate_windows,
    window_metrics,
    window_scores_and_flags,
)


def series(labels: np.ndarray, window: int, stride: int) -> WindowedSeries:
    frame = pd.DataFrame({"value": np.zeros(len(labels), np.float32), "label": labels.astype(np.int8)},
                         index=pd.RangeIndex(len(labels), name="step"))
    return WindowedSeries.from_frame(frame, window, stride)


def test_non_overlapping_windows_recover_their_own_scores_and_flags():
    windowed = series(np.zeros(135, np.int8), 10, 10)  # 13 windows, 5 rows no window covers
    own = np.random.default_rng(0).random(13)
    per_timestamp = to_timestamps(own, 10, 10, 135)
    flags = per_timestamp >= 0.5
    window_scores, window_flags = window_scores_and_flags(windowed, per_timestamp, flags)
    np.testing.assert_array_equal(window_scores, own)
    np.testing.assert_array_equal(window_flags, own >= 0.5)


def test_overlapping_windows_take_the_maximum_over_their_rows():
    windowed = series(np.zeros(8, np.int8), 4, 2)  # windows [0,4) [2,6) [4,8)
    scores = np.array([0, 5, 1, 1, 2, 0, 0, 3], float)
    window_scores, window_flags = window_scores_and_flags(windowed, scores, scores >= 3)
    np.testing.assert_array_equal(window_scores, [5, 2, 3])
    np.testing.assert_array_equal(window_flags, [True, False, True])


def test_window_level_point_adjustment():
    labels = np.array([0, 1, 1, 0, 1, 1, 1, 0, 0, 0])
    flags = np.array([0, 0, 1, 0, 0, 0, 0, 1, 0, 0], bool)
    scores = np.where(flags, 1.0, 0.1)
    out = window_metrics(labels, scores, flags)
    assert out["window_precision"] == pytest.approx(1 / 2) and out["window_recall"] == pytest.approx(1 / 5)
    # The first run (windows 1, 2) counts as detected; the second (4..6) does not.
    assert out["window_pa_precision"] == pytest.approx(2 / 3) and out["window_pa_recall"] == pytest.approx(2 / 5)
    assert out["window_pa_accuracy"] == pytest.approx(6 / 10)
    adjusted = np.array([0, 1, 1, 0, 0, 0, 0, 1, 0, 0])
    assert out["window_pa_kappa"] == pytest.approx(cohen_kappa_score(labels, adjusted))
    assert out["window_oracle_pa_f1"] >= out["window_pa_f1"] and out["window_count"] == 10


def test_cohen_kappa_matches_sklearn():
    rng = np.random.default_rng(1)
    labels, flags = rng.random(200) < 0.2, rng.random(200) < 0.3
    assert cohen_kappa(labels, flags) == pytest.approx(cohen_kappa_score(labels, flags))
    assert cohen_kappa(np.ones(5, bool), np.ones(5, bool)) == 0.0


def test_evaluate_windows_per_entity_with_mean_and_mlflow_names():
    rng = np.random.default_rng(2)
    windows, scores = {}, {}
    for entity, anomalous in (("a", True), ("b", True), ("c", False)):
        labels = np.zeros(600, np.int8)
        if anomalous:
            labels[300:330] = 1
        windowed = series(labels, 60, 60)
        own = rng.random(10) + 3.0 * windowed.window_labels  # anomalous windows score higher
        windows[entity] = windowed
        scores[entity] = pd.DataFrame({"score": to_timestamps(own, 60, 60, 600), "label": labels},
                                      index=pd.RangeIndex(600, name="step"))
    scores_test = join_entities(scores)
    record = thresholds.to_record({e: thresholds.fit(np.linspace(0.0, 2.0, 101), "quantile", q=0.5) for e in windows})
    logged, table = evaluate_windows(windows, scores_test, record)
    assert list(table.index) == ["a", "b", "mean"]  # c has no anomalous test window
    assert logged["window_roc_auc"]["value"] == 1.0 and logged["window_pa_f1"]["value"] == 1.0
    assert logged["entity.a.window_f1"]["value"] == 1.0 and logged["window_entities_evaluated"]["value"] == 2
    record["values"]["a"] = None  # no threshold: only threshold-free and oracle metrics for that entity
    _, table = evaluate_windows(windows, scores_test, record)
    assert np.isnan(table.loc["a", "window_f1"]) and table.loc["a", "window_oracle_f1"] == 1.0
    with pytest.raises(ValueError, match="no scores for the 600 test rows of entity 'a'"):
        evaluate_windows(windows, scores_test.drop(index="a", level="entity"), record)


def test_overlapping_windows_are_evaluated_on_the_detectors_own_window_scores():
    labels = np.zeros(100, np.int8)
    labels[55:58] = 1  # in windows [40, 60) and [50, 70)
    windowed = series(labels, 20, 10)  # 9 overlapping windows
    own = np.array([0.0, 0.1, 0.2, 0.3, 1.0, 0.9, 0.8, 0.7, 0.6])
    # Per-timestamp scores that carry no information: only the window scores can separate the windows.
    scores_test = pd.DataFrame({"score": np.zeros(100), "label": labels}, index=pd.RangeIndex(100, name="step"))
    window_scores = pd.DataFrame({"score": own, "window": 20}, index=windowed.index[windowed.window_starts])
    record = thresholds.to_record({"": thresholds.fit(np.linspace(0.0, 0.5, 101), "quantile", q=0.99)})
    exact, _ = evaluate_windows({"": windowed}, scores_test, record, window_scores)
    approximate, _ = evaluate_windows({"": windowed}, scores_test, record)
    np.testing.assert_array_equal(windowed.window_labels, [0, 0, 0, 0, 1, 1, 0, 0, 0])
    expected = window_metrics(windowed.window_labels, own, np.zeros(9, bool))
    assert {k: v["value"] for k, v in exact.items() if k in expected} == expected
    assert exact["window_roc_auc"]["value"] == 1.0 and approximate["window_roc_auc"]["value"] == 0.5
    # Every other window scored (scoring.stride 20: starts 0, 20, 40, 60, 80): their own labels
    logged, _ = evaluate_windows({"": windowed}, scores_test, record, window_scores.iloc[::2])
    assert logged["window_count"]["value"] == 5 and logged["window_anomalous_count"]["value"] == 1
    with pytest.raises(ValueError, match="windows outside its 100 test rows"):
        evaluate_windows({"": windowed}, scores_test, record, window_scores.set_axis(window_scores.index + 1000))
