"""Scoring stage: ``detector`` -> ``scores_val`` and ``scores_test`` (per timestamp, versioned Parquet; the test
scores with the departures of the evidence channels, ``departures_test``), and ``window_scores_test``, the
detector's own score of each test window (window-level metrics)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.scoring.nodes import score_series, score_split


def scoring_template() -> Pipeline:
    return Pipeline([
        Node(score_series, ["detector", "windows_val", "params:scoring"], "scores_val", name="score_val"),
        Node(score_split, ["detector", "windows_test", "params:scoring", "departures_test"],
             ["scores_test", "window_scores_test"], name="score_test"),
    ])
