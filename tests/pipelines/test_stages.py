"""The stage templates chained without ingestion, run in-process on synthetic frames with an in-memory catalog."""

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import STAGE_PARAMS, stage_outputs

from tsad.core.errors import DataFormatError
from tsad.core.preprocessing import departures
from tsad.models import registry
from tsad.pipelines.cleaning.nodes import clean_training_series
from tsad.pipelines.scoring.nodes import score_series


def test_stages_end_to_end(train_frame, test_frame):
    constant_train = train_frame.assign(flat=np.float32(3.0))
    out = stage_outputs(constant_train, test_frame.assign(flat=np.float32(9.0)))
    assert out["cleaning_report"]["dropped_constant"] == ["flat"]
    # Not evidence (no cleaning.constant_evidence here): dropped, and its 9.0 in the test rows flags nothing.
    assert out["cleaning_report"]["constant_values"] == {"flat": 3.0}
    assert out["cleaning_report"]["constant_evidence"] == [] and out["departures_test"].columns.empty
    assert out["selected_features"] == [f"c{i}" for i in range(5)]
    assert set(out["gra_grades"]["feature"]) == {f"c{i}" for i in range(5)}
    # The scaler saw the training rows only: its statistics are the clean training split's.
    clean_train = out["clean_train"]
    np.testing.assert_allclose(out["scaler"]["entities"][""]["offset"],
                               clean_train[out["scaler"]["columns"]].min().to_numpy())
    scores = out["scores_test"]
    assert scores.index.equals(test_frame.index) and list(scores.columns) == ["score", "label"]
    assert out["threshold"]["strategy"] == "quantile"
    metrics = {k: v["value"] for k, v in out["metrics"].items()}
    assert {"f1", "pa_f1", "roc_auc", "pr_auc", "oracle_f1", "oracle_threshold"} <= set(metrics)
    assert metrics["roc_auc"] > 0.75 and metrics["pa_f1"] >= metrics["f1"]
    assert out["score_timeline"].axes  # a matplotlib figure


def test_top_k_selection_reaches_the_features(train_frame, test_frame):
    params = STAGE_PARAMS | {"feature_selection": STAGE_PARAMS["feature_selection"] | {"top_k": 2}}
    out = stage_outputs(train_frame, test_frame, params)
    assert len(out["selected_features"]) == 2
    assert list(out["features_test"].columns) == [*out["selected_features"], "label"]
    best = out["gra_grades"].sort_values("rank")["feature"].head(2)
    assert set(best) == set(out["selected_features"])


def test_unlabelled_test_data_skips_label_metrics(train_frame, test_frame):
    out = stage_outputs(train_frame.drop(columns="label"), test_frame.drop(columns="label"))
    assert out["metrics"] == {} and "label" not in out["scores_test"].columns


def test_channels_must_match(train_frame, test_frame):
    with pytest.raises(DataFormatError, match=r"only in training: \['c4'\]"):
        stage_outputs(train_frame, test_frame.drop(columns="c4"))


def test_gdn_recipe_downsamples_and_drops_start_up(train_frame, test_frame):
    long_train = pd.concat([train_frame] * 12)
    long_train.index = pd.date_range("2021-01-01", periods=len(long_train), freq="s", name="timestamp")
    params = STAGE_PARAMS | {"cleaning": STAGE_PARAMS["cleaning"] | {"gdn_recipe": True}}
    out = stage_outputs(long_train, test_frame, params)
    assert out["cleaning_report"]["rows_train"] == (len(long_train) - 6 * 3600) // 10
    assert len(out["clean_test"]) == len(test_frame) // 10


def entities(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A multi-entity typed frame with a step index, as the SMD / MSL / NAB loaders produce."""
    parts = {name: frame.reset_index(drop=True).rename_axis("step") for name, frame in frames.items()}
    return pd.concat(parts, names=["entity"])


def test_cleaning_records_each_constant_value_and_the_evidence_channels(train_frame, test_frame, caplog):
    """Per entity where the entities differ; the evidence channels by shell pattern, or by value with "discrete"."""
    constants = {"a": {"P1": 0.0, "P2": 1.0, "flat": 2.5}, "b": {"P1": 2.0, "P2": 1.0, "flat": 2.5}}
    train = entities({e: train_frame.assign(**{c: np.float32(v) for c, v in values.items()})
                      for e, values in constants.items()})
    test = entities({e: test_frame.assign(P1=np.float32(0.0), P2=np.float32(1.0), flat=np.float32(2.5))
                     for e in constants})
    cleaning = STAGE_PARAMS["cleaning"] | {"constant_evidence": ["P*"], "evidence_tolerance": 0.1}
    with caplog.at_level(logging.INFO, logger="tsad.pipelines.cleaning.nodes"):
        clean, report = clean_training_series(train, test, cleaning)
    assert report["dropped_constant"] == ["P1", "P2", "flat"] and "P1" not in clean.columns
    assert report["constant_values"] == {"P1": {"a": 0.0, "b": 2.0}, "P2": 1.0, "flat": 2.5}
    assert report["constant_evidence"] == ["P1", "P2"] and report["evidence_tolerance"] == 0.1
    assert "kept as evidence (a departure from the training value flags the row" in caplog.text
    assert "['P1', 'P2']" in caplog.text
    by_value = clean_training_series(train, test, cleaning | {"constant_evidence": "discrete"})[1]
    assert by_value["constant_evidence"] == ["P1", "P2"]  # flat is frozen at 2.5: an analog reading, not a state
    departed = departures(test, report, "test data")  # entity b's pump reads 0, off its training value 2
    assert departed.xs("a", level="entity").sum().to_dict() == {"P1": 0, "P2": 0}
    assert departed.xs("b", level="entity").sum().to_dict() == {"P1": len(test_frame), "P2": 0}


def test_multi_entity_data_runs_entity_by_entity(train_frame, test_frame, make_series):
    raw_train = entities({"m-1": train_frame, "m-2": make_series(1500, seed=5, anomalies=False) * 3})
    quiet_test = make_series(1200, seed=6, anomalies=False)
    raw_test = entities({"m-1": test_frame, "m-2": quiet_test.assign(label=np.int8(0))})
    out = stage_outputs(raw_train, raw_test)
    assert set(out["scaler"]["entities"]) == {"m-1", "m-2"}
    m2_stats = out["scaler"]["entities"]["m-2"]
    np.testing.assert_allclose(m2_stats["offset"], (raw_train.loc["m-2"].drop(columns="label") * 1.0).min(), rtol=1e-6)
    assert set(out["windows_test"]) == {"m-1", "m-2"} and set(out["detector"]["entities"]) == {"m-1", "m-2"}
    scores = out["scores_test"]
    assert scores.index.names == ["entity", "step"] and len(scores) == len(raw_test)
    assert set(out["threshold"]["values"]) == {"m-1", "m-2"}
    metrics = {k: v["value"] for k, v in out["metrics"].items()}
    # m-2 has no anomaly in its test data: it is not part of the mean, which is m-1's metrics.
    assert metrics["entities_evaluated"] == 1 and "entity.m-2.f1" not in metrics
    assert metrics["roc_auc"] == metrics["entity.m-1.roc_auc"]


def test_entities_must_match(train_frame, test_frame):
    with pytest.raises(DataFormatError, match="entities differ"):
        stage_outputs(entities({"a": train_frame}), entities({"b": test_frame}))


def test_scoring_stride_scores_every_nth_window_and_keeps_one_score_per_row(train_frame, test_frame):
    params = STAGE_PARAMS | {"scoring": {"aggregation": "mean", "stride": "window"}}
    out = stage_outputs(train_frame, test_frame, params)
    scores, series = out["scores_test"], out["windows_test"][""]
    assert scores.index.equals(test_frame.index) and series.stride == 1  # the dataset's windows are unchanged
    model = registry.from_state(out["detector"]["entities"][""])
    window = series.window
    tiles = model.decision_function(series.values[:len(series.values) // window * window].reshape(-1, window,
                                                                                                 series.values.shape[1]))
    # Non-overlapping windows: every row of window k carries window k's score.
    np.testing.assert_allclose(scores["score"].to_numpy()[:len(tiles) * window], np.repeat(tiles, window), rtol=1e-6)
    # The detector's own score of each scored window, indexed by its first row (window-level metrics read them).
    own = out["window_scores_test"]
    np.testing.assert_allclose(own["score"].to_numpy(), tiles, rtol=1e-6)
    assert own.index.equals(test_frame.index[::window][:len(tiles)]) and (own["window"] == window).all()
    every_third = score_series(out["detector"], out["windows_test"], {"stride": 3})
    assert every_third.index.equals(scores.index) and not np.allclose(every_third["score"], scores["score"])
    assert out["metrics"]["roc_auc"]["value"] > 0.7
    with pytest.raises(ValueError, match="scoring.stride must be null, 'window' or a positive integer, got 0"):
        score_series(out["detector"], out["windows_test"], {"stride": 0})
