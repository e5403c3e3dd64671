"""The reporting stage's nodes: the report of model against control and the plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import EVALUATION, evaluation_params, score_frame

from tsad.core.score_frames import with_departures
from tsad.core.windows import WindowedSeries
from tsad.pipelines.evaluation.nodes import evaluate, fit_threshold, score_random_control
from tsad.pipelines.reporting import nodes


def test_report_compares_the_model_with_the_control():
    val, test = score_frame(labelled=False, signal=0, seed=1), score_frame(seed=2, signal=4)
    record = fit_threshold(val, {"strategy": "quantile", "q": 0.995})
    control_val, control_test = score_random_control(val, test, EVALUATION)
    control_record = fit_threshold(control_val, {"strategy": "quantile", "q": 0.995})
    _, table = evaluate(test, record, EVALUATION)
    _, control_table = evaluate(control_test, control_record, EVALUATION)
    combined, report = nodes.write_report(table, control_table, record, {"method": "pca"}, test)
    assert list(combined.index.get_level_values("scorer")) == ["model", "random_control"]
    assert "# Evaluation report: `pca`" in report and "| point-wise | `precision` |" in report
    assert f"{table.at['series', 'roc_auc']:.4g}" in report and f"{control_table.at['series', 'roc_auc']:.4g}" in report
    assert "`pa_f1`" in report and "oracle" in report
    assert "No channel constant in training is kept as evidence" in report


def test_report_names_the_evidence_channels_that_departed():
    test = score_frame(seed=2, signal=4)
    departed = pd.DataFrame({"P101": np.zeros(len(test), np.int8), "MV201": np.zeros(len(test), np.int8)},
                            index=test.index)
    departed.iloc[600:610, 0] = 1  # inside the first labelled segment (rows 600-639)
    departed.iloc[10:15, 0] = 1
    test = with_departures(test[["score"]], departed).assign(label=test["label"])
    record = fit_threshold(score_frame(labelled=False, signal=0, seed=1), {"strategy": "quantile", "q": 0.995})
    _, table = evaluate(test, record, EVALUATION)
    _, report = nodes.write_report(table, table, record, {"method": "pca"}, test)
    assert "kept as evidence: `P101`, `MV201`" in report and "15 of 3000 test rows" in report
    assert "| `P101` | 15 | 10 |" in report and "| `MV201` |" not in report  # only the channels that departed


def test_plots(train_frame, test_frame):
    scores = score_frame(n=len(test_frame), seed=2)
    scores.index = test_frame.index
    record = fit_threshold(score_frame(labelled=False, signal=0, seed=1), {"strategy": "dynamic", "span": 5,
                                                                          "error_buffer": 3})
    control_val, control_test = score_random_control(scores, scores, EVALUATION)
    assert nodes.plot_score_timeline(scores, record).axes
    assert nodes.plot_pr_curve(scores, control_test, record).axes
    windows_train = {"": WindowedSeries.from_frame(train_frame, 12)}
    windows_test = {"": WindowedSeries.from_frame(test_frame, 12)}
    figure = nodes.plot_channel_contributions(windows_train, windows_test, scores, record,
                                              evaluation_params(report={"top_events": 3, "context": 20}))
    heatmap = figure.axes[0]
    assert [t.get_text() for t in heatmap.get_yticklabels()][0] in {f"c{i}" for i in range(5)}
    assert len(heatmap.get_xticklabels()) == 3


def test_top_events_rank_flags_first_and_keep_spans_apart():
    ratio = np.zeros(100)
    ratio[[10, 12, 50, 90]] = [5.0, 6.0, 2.0, 3.0]
    flags = np.zeros(100, dtype=bool)
    flags[50] = True
    np.testing.assert_array_equal(nodes.top_events(ratio, flags, 3, 5), [50, 12, 90])


@pytest.mark.parametrize("options", [
    {"strategy": "spot", "q": 1e-3, "level": 0.95},
    {"strategy": "dynamic", "span": 5, "error_buffer": 5},
    {"strategy": "quantile", "q": 0.95, "persistence": 3},
])
def test_the_timeline_draws_each_strategy_s_decision_and_threshold(options):
    val, test = score_frame(n=6000, labelled=False, signal=0, seed=1), score_frame(n=6000, seed=2, signal=6)
    figure = nodes.plot_score_timeline(test, fit_threshold(val, options))
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels[:2] == ["decision score (max per bin)", f"threshold ({options['strategy']})"]
