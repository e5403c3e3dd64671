"""Evaluation stage.

``scores_val`` -> ``threshold``; ``scores_test`` -> ``metrics`` (MLflow) and ``metrics_by_entity`` (the table); the
random control beside them: ``random_control_scores_val`` / ``_test`` -> ``random_control_threshold`` ->
``random_control_metrics`` and ``random_control_metrics_by_entity``. The reporting stage turns them into the
report and the plots.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.evaluation.nodes import evaluate, fit_control_threshold, fit_threshold, score_random_control


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
    ])
