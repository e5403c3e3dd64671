"""Evaluation stage: ``scores_val`` -> ``threshold``; ``scores_test`` -> ``metrics`` and ``score_timeline``."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.evaluation.nodes import evaluate_scores, fit_threshold, plot_score_timeline


def evaluation_template() -> Pipeline:
    return Pipeline([
        Node(fit_threshold, ["scores_val", "params:threshold"], "threshold", name="fit_threshold"),
        Node(evaluate_scores, ["scores_test", "threshold"], "metrics", name="evaluate_scores"),
        Node(plot_score_timeline, ["scores_test", "threshold"], "score_timeline", name="plot_score_timeline"),
    ])
