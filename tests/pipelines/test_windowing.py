"""Gap-aware windows: under ``cleaning.nan_policy: drop`` no window spans the rows dropped, the scores cover every
kept row once (the rows of a stretch shorter than a window are left out, and logged), through the stages, the window
metrics and the registered model."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import STAGE_PARAMS, stage_outputs

from tsad.core.frames import GAP
from tsad.core.windows import WindowedSeries
from tsad.pipelines.scoring.nodes import score_series
from tsad.pipelines.serving.nodes import bundle_model, bundle_preprocessing, prepare_model_input, score_new_data
from tsad.pipelines.window_evaluation.nodes import window_scores_and_flags
from tsad.pipelines.windowing.nodes import make_windows
from tsad.serving import input_format, rows_from_frame

DROP = STAGE_PARAMS | {"cleaning": STAGE_PARAMS["cleaning"] | {"nan_policy": "drop"}}
WINDOW = STAGE_PARAMS["windowing"]["window"]


def with_holes(frame: pd.DataFrame, holes: list[tuple[int, int]]) -> pd.DataFrame:
    """``frame`` with NaN in one channel over each ``[start, stop)`` row range."""
    out = frame.copy()
    for start, stop in holes:
        out.iloc[start:stop, 1] = np.nan
    return out


def positions(series: WindowedSeries, frame: pd.DataFrame) -> np.ndarray:
    """Each window's rows as positions in ``frame`` (the raw rows, dropped ones included)."""
    where = frame.index.get_indexer(series.index)
    return where[series.window_starts[:, None] + np.arange(series.window)]


def test_windows_cut_only_inside_stretches_and_short_stretches_are_logged(caplog):
    frame = pd.DataFrame({"a": np.arange(30, dtype=np.float32), GAP: np.zeros(30, dtype=np.int8)})
    frame.iloc[[10, 14], 1] = 1  # stretches of 10, 4 (shorter than a window) and 16 rows
    with caplog.at_level(logging.WARNING):
        series = make_windows(frame, {"window": 5, "stride": 1})[""]
    assert "4 rows lie in stretches between dropped rows shorter than a window (5)" in caplog.text
    assert series.breaks == (10,) and series.index.tolist() == [*range(10), *range(14, 30)]
    assert (np.diff(series.windows[..., 0], axis=1) == 1).all() and len(series.windows) == 6 + 12
    with pytest.raises(ValueError, match="none of them as long as one window of 20"):
        make_windows(frame, {"window": 20, "stride": 1})


def test_drop_policy_through_the_stages(train_frame, test_frame):
    raw_train = with_holes(train_frame, [(300, 310), (900, 905)])
    raw_test = with_holes(test_frame, [(100, 130), (137, 140), (1500, 1501)])  # rows 130-136: 7 < one window
    out = stage_outputs(raw_train, raw_test, DROP)
    report = out["cleaning_report"]
    assert report["dropped"] == {"training data": {"rows": 15, "stretches": 2}} and report["filled"] == {}
    assert any("dropped 15 rows" in note for note in report["notes"])
    for split, raw in (("train", raw_train), ("val", raw_train), ("test", raw_test)):
        rows = positions(out[f"windows_{split}"][""], raw)
        assert (np.diff(rows, axis=1) == 1).all(), f"a {split} window spans dropped rows"
    # every kept test row but the short stretch's is scored, once
    kept = raw_test.index[raw_test.notna().all(axis=1).to_numpy()]
    scores = out["scores_test"]
    assert scores.index.equals(kept.drop(raw_test.index[130:137])) and scores.index.is_unique
    assert np.isfinite(scores["score"]).all() and out["metrics"]["roc_auc"]["value"] > 0.75
    # the aggregations that map window scores back stretch by stretch
    windows = out["windows_test"]
    assert score_series(out["detector"], windows, {"aggregation": "last"}).index.equals(scores.index)
    series = windows[""]
    window_scores, flags = window_scores_and_flags(series, scores["score"].to_numpy(), None)
    assert len(window_scores) == len(series.window_labels) == len(series.window_starts)
    # a registered model drops and cuts new rows as the pipeline did its test split
    fmt = input_format(raw_test)
    bundle = bundle_model(bundle_preprocessing(fmt, report, out["scaler"], out["selected_features"],
                                               DROP["windowing"]), out["detector"], out["threshold"], DROP["scoring"])
    predictions = score_new_data(prepare_model_input(rows_from_frame(raw_test, fmt), bundle), bundle)
    np.testing.assert_allclose(predictions["score"], scores["score"], rtol=1e-6)
