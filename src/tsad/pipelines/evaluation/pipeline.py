"""Evaluation stage.

``scores_val`` -> ``threshold``; ``scores_test`` -> ``metrics`` and ``score_timeline``, as before; beside them the
random control (``random_control_metrics``), the metrics table and markdown report (``metrics_table``,
``evaluation_report``), the PR curve and the channel contribution heatmap (``pr_curve``, ``channel_contributions``).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.evaluation.nodes import (
    evaluate,
    fit_control_threshold,
    fit_threshold,
    plot_channel_contributions,
    plot_pr_curve,
    plot_score_timeline,
    score_random_control,
    write_report,
)


def evaluation_template() -> Pipeline:
    return Pipeline([
        Node(fit_threshold, ["scores_val", "params:threshold"], "threshold", name="fit_threshold"),
        Node(evaluate, ["scores_test", "threshold", "params:evaluation"], ["metrics", "metrics_by_entity"],
             name="evaluate_scores"),
        Node(score_random_control, ["scores_val", "scores_test", "params:evaluation"],
             ["random_control_scores_val", "random_control_scores_test"], name="score_random_control"),
        Node(fit_control_threshold, ["random_control_scores_val", "params:threshold"], "random_control_threshold",
             name="fit_random_control_threshold"),
        Node(evaluate, ["random_control_scores_test", "random_control_threshold", "params:evaluation"],
             ["random_control_metrics", "random_control_metrics_by_entity"], name="evaluate_random_control"),
        Node(write_report, ["metrics_by_entity", "random_control_metrics_by_entity", "threshold", "params:model"],
             ["metrics_table", "evaluation_report"], name="write_evaluation_report"),
        Node(plot_score_timeline, ["scores_test", "threshold"], "score_timeline", name="plot_score_timeline"),
        Node(plot_pr_curve, ["scores_test", "random_control_scores_test", "threshold"], "pr_curve",
             name="plot_pr_curve"),
        Node(plot_channel_contributions,
             ["windows_train", "windows_test", "scores_test", "threshold", "params:evaluation"],
             "channel_contributions", name="plot_channel_contributions"),
    ])
