"""Scoring node: window scores from a fitted detector, mapped back to one score per timestamp."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tsad.core.windows import WindowedSeries
from tsad.models import registry


def score_series(detector: dict[str, Any], windows: WindowedSeries, scoring: dict[str, Any]) -> pd.DataFrame:
    """Per-timestamp anomaly scores of a split.

    Args:
        detector: Checkpoint dict from ``fit_detector``.
        windows: The split's windows.
        scoring: ``aggregation`` over the windows covering a timestamp: ``mean`` (default) or ``max``.

    Returns:
        A frame on the split's index with ``score`` (float64, higher = more anomalous) and, when the split
        is labelled, ``label``.
    """
    if list(detector["channels"]) != list(windows.channels):
        raise ValueError(f"the detector was fitted on channels {detector['channels']}, "
                         f"the data has {list(windows.channels)}")
    window_scores = registry.from_state(detector).decision_function(windows.windows)
    scores = pd.DataFrame({"score": windows.to_timestamps(window_scores, scoring.get("aggregation", "mean"))},
                          index=windows.index)
    if windows.labels is not None:
        scores["label"] = windows.labels
    return scores
