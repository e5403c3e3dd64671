"""The evaluation stage's nodes on synthetic scores: thresholds, metrics, the random control, reports and plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsad.core import metrics, thresholds
from tsad.core.windows import WindowedSeries
from tsad.pipelines.evaluation import nodes


def scored(n: int = 3000, seed: int = 0, signal: float = 2.0, labelled: bool = True) -> pd.DataFrame:
    """Per-timestamp scores with three labelled segments where the score rises by ``signal``."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int8)
    for start, length in ((n // 5, 40), (n // 2, 80), (4 * n // 5, 25)):
        labels[start:start + length] = 1
    frame = pd.DataFrame({"score": rng.exponential(size=n) + signal * labels},
                         index=pd.date_range("2021-01-01", periods=n, freq="s", name="timestamp"))
    if labelled:
        frame["label"] = labels
    return frame


def multi(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat({k: f.reset_index(drop=True).rename_axis("step") for k, f in frames.items()}, names=["entity"])


def test_threshold_record_and_metrics_of_a_single_series():
    val, test = scored(labelled=False, signal=0, seed=1), scored(seed=2)
    record = nodes.fit_threshold(val, {"strategy": "pot", "q": 1e-3, "level": 0.95, "persistence": 2})
    assert record["strategy"] == "pot" and record["persistence"] == 2 and set(record["values"]) == {""}
    mlflow_form, table = nodes.evaluate(test, record, {})
    assert list(table.index) == ["series"]
    values = {k: v["value"] for k, v in mlflow_form.items()}
    assert {"f1", "pa_f1", "pa_k_auc", "event_f1", "composite_f1", "range_f1", "affiliation_f1", "roc_auc",
            "pr_auc", "vus_roc", "vus_pr", "oracle_f1", "oracle_pa_f1", "threshold"} <= set(values)
    # The flags are the persistent exceedances of the fitted threshold.
    flags = thresholds.persistent(test["score"].to_numpy() >= record["values"][""], 2)
    assert values["f1"] == pytest.approx(metrics.precision_recall_f1(test["label"], flags)[2])
    assert values["flagged_fraction"] == pytest.approx(flags.mean())
    # The oracle searches the same flag rule: thresholds on the 2-point running minimum.
    best = metrics.best_f1(test["label"], thresholds.persistent_scores(test["score"].to_numpy(), 2))
    assert values["oracle_f1"] == pytest.approx(best["f1"]) and values["oracle_f1"] >= values["f1"]


def test_multi_entity_means_skip_entities_without_anomalies():
    quiet = scored(seed=5).assign(label=np.int8(0))
    val = multi({"a": scored(labelled=False, signal=0, seed=3), "b": scored(labelled=False, signal=0, seed=4)})
    test = multi({"a": scored(seed=6), "b": quiet})
    record = nodes.fit_threshold(val, {"strategy": "quantile", "q": 0.99})
    mlflow_form, table = nodes.evaluate(test, record, {"vus": {"window": 20}})
    assert list(table.index) == ["a", "mean"]
    values = {k: v["value"] for k, v in mlflow_form.items()}
    assert values["entities_evaluated"] == 1 and values["f1"] == values["entity.a.f1"]
    assert "entity.b.f1" not in values and "threshold" not in values  # thresholds are per entity, not averaged


def test_random_control_is_seeded_uniform_on_the_same_timestamps():
    val, test = scored(labelled=False), multi({"a": scored(seed=1), "b": scored(seed=2)})
    control_val, control_test = nodes.score_random_control(val, test, {"random_control": {"seed": 3}})
    again_val, again_test = nodes.score_random_control(val, test, {"random_control": {"seed": 3}})
    other_val, _ = nodes.score_random_control(val, test, {"random_control": {"seed": 4}})
    pd.testing.assert_frame_equal(control_test, again_test)
    pd.testing.assert_frame_equal(control_val, again_val)
    assert not np.allclose(control_val["score"], other_val["score"])
    assert control_test.index.equals(test.index) and control_val.index.equals(val.index)
    np.testing.assert_array_equal(control_test["label"], test["label"])
    assert 0 <= control_test["score"].min() and control_test["score"].max() < 1
    assert not np.allclose(control_test.loc["a", "score"].to_numpy(), control_test.loc["b", "score"].to_numpy())


def test_control_without_a_threshold_reports_threshold_free_metrics_only():
    control_val, control_test = nodes.score_random_control(scored(labelled=False), scored(seed=1), {})
    options = {"strategy": "pot", "q": 0.5, "level": 0.9}  # q above the share of peaks: no threshold
    with pytest.raises(thresholds.ThresholdError):
        nodes.fit_threshold(control_val, options)
    record = nodes.fit_control_threshold(control_val, options)
    assert record["values"] == {"": None}
    mlflow_form, table = nodes.evaluate(control_test, record, {})
    assert "f1" not in mlflow_form and "roc_auc" in mlflow_form and "oracle_f1" in mlflow_form


def test_report_compares_the_model_with_the_control():
    val, test = scored(labelled=False, signal=0, seed=1), scored(seed=2, signal=4)
    record = nodes.fit_threshold(val, {"strategy": "quantile", "q": 0.995})
    control_val, control_test = nodes.score_random_control(val, test, {})
    control_record = nodes.fit_threshold(control_val, {"strategy": "quantile", "q": 0.995})
    _, table = nodes.evaluate(test, record, {})
    _, control_table = nodes.evaluate(control_test, control_record, {})
    combined, report = nodes.write_report(table, control_table, record, {"method": "pca"})
    assert list(combined.index.get_level_values("scorer")) == ["model", "random_control"]
    assert "# Evaluation report: `pca`" in report and "| point-wise | `precision` |" in report
    assert f"{table.at['series', 'roc_auc']:.4g}" in report and f"{control_table.at['series', 'roc_auc']:.4g}" in report
    assert "`pa_f1`" in report and "oracle" in report


def test_plots(train_frame, test_frame):
    scores = scored(n=len(test_frame), seed=2)
    scores.index = test_frame.index
    record = nodes.fit_threshold(scored(labelled=False, signal=0, seed=1), {"strategy": "dynamic", "span": 5,
                                                                             "error_buffer": 3})
    control_val, control_test = nodes.score_random_control(scores, scores, {})
    assert nodes.plot_score_timeline(scores, record).axes
    assert nodes.plot_pr_curve(scores, control_test, record).axes
    windows_train = {"": WindowedSeries.from_frame(train_frame, 12)}
    windows_test = {"": WindowedSeries.from_frame(test_frame, 12)}
    figure = nodes.plot_channel_contributions(windows_train, windows_test, scores, record,
                                              {"report": {"top_events": 3, "context": 20}})
    heatmap = figure.axes[0]
    assert [t.get_text() for t in heatmap.get_yticklabels()][0] in {f"c{i}" for i in range(5)}
    assert len(heatmap.get_xticklabels()) == 3


def test_top_events_rank_flags_first_and_keep_spans_apart():
    ratio = np.zeros(100)
    ratio[[10, 12, 50, 90]] = [5.0, 6.0, 2.0, 3.0]
    flags = np.zeros(100, dtype=bool)
    flags[50] = True
    np.testing.assert_array_equal(nodes.top_events(ratio, flags, 3, 5), [50, 12, 90])


def test_unknown_evaluation_parameters_are_refused():
    with pytest.raises(ValueError, match="unknown evaluation parameter"):
        nodes.evaluation_options({"vuss": {}})


@pytest.mark.parametrize("options", [
    {"strategy": "quantile", "q": 0.99},
    {"strategy": "k_sigma", "k": 4},
    {"strategy": "pot", "q": 1e-3, "level": 0.95},
    {"strategy": "spot", "q": 1e-3, "level": 0.95},
    {"strategy": "distri_tail_noise_2th", "on_failure": "max"},
    {"strategy": "dynamic", "span": 5, "error_buffer": 5},
    {"strategy": "quantile", "q": 0.95, "persistence": 3},
])
def test_every_strategy_runs_through_the_stage(options):
    val, test = scored(n=6000, labelled=False, signal=0, seed=1), scored(n=6000, seed=2, signal=6)
    record = nodes.fit_threshold(val, options)
    mlflow_form, table = nodes.evaluate(test, record, {"vus": {"window": 10, "n_thresholds": 50}})
    values = {k: v["value"] for k, v in mlflow_form.items()}
    assert values["roc_auc"] > 0.9 and 0 <= values["f1"] <= 1 and values["flagged_fraction"] < 0.5
    fitted = thresholds.from_record(record, "")
    assert values["flagged_fraction"] == pytest.approx(thresholds.apply(test["score"].to_numpy(), fitted).flags.mean())
    assert nodes.plot_score_timeline(test, record).axes
