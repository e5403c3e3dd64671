"""Window-level evaluation of a model and of the random control, beside the evaluation stage.

Namespace ``ds.method`` like the model pipeline: ``windows_test`` (the dataset's), ``scores_test`` and
``threshold`` -> ``window_metrics``; the random control's scores and threshold -> ``random_control_window_metrics``.
Added to a ``<method>_<ds>`` pipeline when the dataset asks for it (``DatasetSpec.window_metrics``).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.window_evaluation.nodes import evaluate_window_metrics


def window_evaluation_pipeline(method: str, dataset: str) -> Pipeline:
    """The window-level metrics of ``method`` on ``dataset`` and of its random control."""
    return Pipeline([
        Node(evaluate_window_metrics, ["windows_test", "scores_test", "threshold"], "window_metrics",
             name="evaluate_windows"),
        Node(evaluate_window_metrics, ["windows_test", "random_control_scores_test", "random_control_threshold"],
             "random_control_window_metrics", name="evaluate_random_control_windows"),
    ], namespace=f"{dataset}.{method}", inputs={"windows_test": f"{dataset}.windows_test"})
