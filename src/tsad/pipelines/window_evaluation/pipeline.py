"""Window-level evaluation of a model and of the random control, beside the evaluation stage.

``windows_test``, ``scores_test``, ``window_scores_test`` (the detector's own window scores) and ``threshold`` ->
``window_metrics``; the random control's scores and threshold -> ``random_control_window_metrics``. Added to a
model pipeline when its protocol asks for it (``datasets.<ds>.protocols.<protocol>.window_metrics``;
``tsad.pipelines.compose.window_evaluation_pipeline``).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.window_evaluation.nodes import evaluate_control_window_metrics, evaluate_window_metrics


def window_evaluation_template() -> Pipeline:
    return Pipeline([
        Node(evaluate_window_metrics, ["windows_test", "scores_test", "threshold", "window_scores_test"],
             "window_metrics", name="evaluate_windows"),
        Node(evaluate_control_window_metrics,
             ["windows_test", "random_control_scores_test", "random_control_threshold"],
             "random_control_window_metrics", name="evaluate_random_control_windows"),
    ])
