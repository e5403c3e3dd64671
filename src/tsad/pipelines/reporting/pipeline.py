"""Reporting stage, after the evaluation stage.

The metrics tables of model and random control -> ``metrics_table`` (one CSV) and ``evaluation_report`` (markdown);
the test scores, the thresholds and the windows -> ``score_timeline``, ``pr_curve`` and ``channel_contributions``.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.reporting.nodes import (
    plot_channel_contributions,
    plot_pr_curve,
    plot_score_timeline,
    write_report,
)


def reporting_template() -> Pipeline:
    return Pipeline([
        Node(write_report, ["metrics_by_entity", "random_control_metrics_by_entity", "threshold", "params:model",
                            "scores_test"], ["metrics_table", "evaluation_report"], name="write_evaluation_report"),
        Node(plot_score_timeline, ["scores_test", "threshold"], "score_timeline", name="plot_score_timeline"),
        Node(plot_pr_curve, ["scores_test", "random_control_scores_test", "threshold"], "pr_curve",
             name="plot_pr_curve"),
        Node(plot_channel_contributions,
             ["windows_train", "windows_test", "scores_test", "threshold", "params:evaluation"],
             "channel_contributions", name="plot_channel_contributions"),
    ])
