"""Per-channel scores and thresholds through the stages: scoring columns, the evaluation option, the random control,
window evaluation and the registered model's flags (the same as the evaluation stage's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import STAGE_PARAMS, evaluation_params, stage_outputs

from tsad.core import metrics, thresholds
from tsad.core.score_frames import channel_scores, flag_scores
from tsad.core.windows import WindowedSeries
from tsad.pipelines.evaluation import nodes
from tsad.pipelines.reporting.nodes import write_report
from tsad.pipelines.scoring.nodes import last_step_timestamps, score_series
from tsad.pipelines.serving.nodes import bundle_model, bundle_preprocessing, prepare_model_input, score_new_data
from tsad.pipelines.window_evaluation.nodes import evaluate_windows
from tsad.serving import input_format, rows_from_frame

PER_CHANNEL = {"strategy": "quantile", "q": 0.99, "per_channel": {"combine": "any"}}
EVALUATION = evaluation_params(vus={"window": 20})


def test_last_step_mapping_by_hand():
    scores = np.array([10.0, 20.0, 30.0, 40.0])
    # W = 3, S = 1, T = 6: window j ends at row j + 2; rows 0 and 1 take the first window's score.
    np.testing.assert_array_equal(last_step_timestamps(scores, 3, 1, 6), [10, 10, 10, 20, 30, 40])
    # W = 3, S = 2, T = 7: windows end at rows 2, 4, 6; a row takes the last window ending at or before it.
    np.testing.assert_array_equal(last_step_timestamps(scores[:3], 3, 2, 7), [10, 10, 10, 10, 20, 20, 30])
    two = np.column_stack([scores, -scores])
    np.testing.assert_array_equal(last_step_timestamps(two, 3, 1, 6)[:, 1], [-10, -10, -10, -20, -30, -40])
    with pytest.raises(ValueError, match="3 scores given for 4 windows"):
        last_step_timestamps(scores[:3], 3, 1, 6)


def labelled_scores(n: int = 3000, seed: int = 0, labelled: bool = True, channels: int = 3) -> pd.DataFrame:
    """Per-channel exponential scores; in three labelled segments channel 0 (then 1, then 2) rises by 4."""
    rng = np.random.default_rng(seed)
    values = rng.exponential(size=(n, channels))
    labels = np.zeros(n, dtype=np.int8)
    for c, (start, length) in enumerate(((n // 5, 40), (n // 2, 80), (4 * n // 5, 25))):
        if labelled:
            values[start:start + length, c % channels] += 4.0
            labels[start:start + length] = 1
    frame = pd.DataFrame(values, columns=[f"score.c{c}" for c in range(channels)],
                         index=pd.date_range("2021-01-01", periods=n, freq="s", name="timestamp"))
    frame.insert(0, "score", values.sum(axis=1))
    if labelled:
        frame["label"] = labels
    return frame


def test_per_channel_thresholds_feed_the_threshold_metrics_and_the_sum_the_threshold_free_ones():
    val, test = labelled_scores(seed=1, labelled=False), labelled_scores(seed=2)
    record = nodes.fit_threshold(val, PER_CHANNEL)
    assert record["per_channel"] == {"combine": "any", "k": 1} and set(record["values"][""]) == {"c0", "c1", "c2"}
    for c in range(3):  # each channel's own quantile of its validation scores
        assert record["values"][""][f"c{c}"] == pytest.approx(np.quantile(val[f"score.c{c}"], 0.99))
    values = {k: v["value"] for k, v in nodes.evaluate(test, record, EVALUATION)[0].items()}
    flags = (test[[f"score.c{c}" for c in range(3)]].to_numpy() >= np.array(list(record["values"][""].values()))
             ).any(axis=1)
    assert values["f1"] == pytest.approx(metrics.precision_recall_f1(test["label"], flags)[2])
    assert values["flagged_fraction"] == pytest.approx(flags.mean())
    assert values["roc_auc"] == pytest.approx(metrics.roc_auc(test["label"], test["score"]))  # the summed score
    assert "threshold" not in values  # no single threshold: NaN, not logged
    two = nodes.fit_threshold(val, PER_CHANNEL | {"per_channel": {"combine": "k_of_f", "k": 2}})
    two_flags = flag_scores(test, thresholds.from_record(two, "")).flags
    assert two_flags.sum() < flags.sum()
    # Off, the scalar threshold on `score` as before (the channel columns are ignored).
    scalar = nodes.fit_threshold(val, {"strategy": "quantile", "q": 0.99})
    assert scalar["values"][""] == pytest.approx(np.quantile(val["score"], 0.99)) and "per_channel" not in scalar


def test_per_channel_option_errors_name_the_problem():
    val = labelled_scores(labelled=False)
    with pytest.raises(ValueError, match="no per-channel columns"):
        nodes.fit_threshold(val[["score"]], PER_CHANNEL)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['rule'\]"):
        nodes.fit_threshold(val, PER_CHANNEL | {"per_channel": {"rule": "any"}})
    with pytest.raises(ValueError, match="k=5 can never flag: there are 3 channels"):
        nodes.fit_threshold(val, PER_CHANNEL | {"per_channel": {"combine": "k_of_f", "k": 5}})


def test_random_control_draws_channels_too_and_keeps_its_score():
    val, test = labelled_scores(labelled=False), labelled_scores(seed=1)
    control_val, control_test = nodes.score_random_control(val, test, EVALUATION)
    plain_val, _ = nodes.score_random_control(val[["score"]], test[["score", "label"]], EVALUATION)
    np.testing.assert_array_equal(control_val["score"], plain_val["score"])  # the same draws as without channels
    assert list(control_test.columns) == ["score", "score.c0", "score.c1", "score.c2", "label"]
    channels, names = channel_scores(control_test)
    assert names == ("c0", "c1", "c2") and channels.min() >= 0 and channels.max() < 1
    record = nodes.fit_control_threshold(control_val, PER_CHANNEL)
    values = nodes.evaluate(control_test, record, EVALUATION)[0]
    assert 0 <= values["f1"]["value"] <= 1


def test_report_and_window_metrics_with_per_channel_thresholds(test_frame):
    val, test = labelled_scores(seed=1, labelled=False, n=2000), labelled_scores(seed=2, n=2000)
    record = nodes.fit_threshold(val, PER_CHANNEL)
    table = nodes.evaluate(test, record, EVALUATION)[1]
    _, text = write_report(table, table, record, {"method": "transformer"}, test)
    assert "One threshold per channel score; a point is flagged when any channel flags it." in text
    assert "thresholds from" in text
    windows = {"": WindowedSeries.from_frame(test_frame, 20, 20)}
    window_values = evaluate_windows(windows, test, record)[0]
    flags = flag_scores(test, thresholds.from_record(record, "")).flags
    expected = np.add.reduceat(flags.astype(int), np.arange(0, 2000, 20)) > 0
    assert window_values["window_flagged_fraction"]["value"] == pytest.approx(expected.mean())


# ------------------------------------------------------------------------------------------ through the stages
PARAMS = STAGE_PARAMS | {
    "model": {"method": "transformer", "device": "cpu", "epochs": 1, "feedforward_size": 32, "progress": False},
    "scoring": {"aggregation": "last"},
    "threshold": {"strategy": "quantile", "q": 0.9, "persistence": 2, "per_channel": {"combine": "k_of_f", "k": 2}},
    "evaluation": EVALUATION,
}


def test_stages_and_the_registered_model_flag_alike_with_per_channel_thresholds(make_series):
    full = make_series(3000, seed=4, anomalies=True)
    raw_train, raw_test = full.iloc[:600].drop(columns="label"), full.iloc[600:]
    out = stage_outputs(raw_train, raw_test, PARAMS)
    scores_test, record = out["scores_test"], out["threshold"]
    channels = [f"score.c{i}" for i in range(5)]
    assert list(scores_test.columns) == ["score", *channels, "label"]
    np.testing.assert_allclose(scores_test["score"], scores_test[channels].sum(axis=1), rtol=1e-12)
    # aggregation "last": row t carries the score of the window ending at t.
    windows = out["windows_test"][""]
    direct = score_series(out["detector"], {"": windows}, {"aggregation": "last"})
    pd.testing.assert_frame_equal(direct, scores_test)
    assert record["per_channel"] == {"combine": "k_of_f", "k": 2}
    expected = flag_scores(scores_test, thresholds.from_record(record, "")).flags

    fmt = input_format(raw_test)
    preprocessing = bundle_preprocessing(fmt, out["cleaning_report"], out["scaler"], out["selected_features"],
                                         PARAMS["windowing"])
    bundle = bundle_model(preprocessing, out["detector"], record, PARAMS["scoring"])
    predictions = score_new_data(prepare_model_input(rows_from_frame(raw_test, fmt), bundle), bundle)
    np.testing.assert_allclose(predictions["score"], scores_test["score"], rtol=1e-6)
    np.testing.assert_array_equal(predictions["flag"].to_numpy(), expected.astype(np.int8))
    assert 0 < expected.sum() < len(expected)
