"""Reporting stage, after the evaluation stage.

The metrics tables of model and random control -> ``metrics_table`` (one CSV) and ``evaluation_report`` (markdown);
the test scores, the thresholds and the windows -> ``score_timeline``, ``pr_curve`` and ``channel_contributions``;
for a detector that learns a sensor graph, ``sensor_graph`` (Parquet) and ``sensor_graph_plot``
(``tsad.pipelines.reporting.sensor_graph``).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.reporting.nodes import (
    plot_channel_contributions,
    plot_pr_curve,
    plot_score_timeline,
    write_report,
)
from tsad.pipelines.reporting.sensor_graph import plot_sensor_graph, sensor_graph_table


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


def sensor_graph_template() -> Pipeline:
    """Only in the pipelines of detectors with ``graph_learned`` (``tsad.pipelines.compose.model_pipeline``)."""
    return Pipeline([
        Node(sensor_graph_table, ["detector", "windows_test", "scores_test", "threshold", "params:evaluation"],
             "sensor_graph", name="summarise_sensor_graph"),
        Node(plot_sensor_graph, "sensor_graph", "sensor_graph_plot", name="plot_sensor_graph"),
    ])
