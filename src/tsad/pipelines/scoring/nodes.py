"""Scoring node: window scores from a fitted detector, mapped back to one score per timestamp."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tsad.core.frames import join_entities
from tsad.core.windows import WindowedSeries
from tsad.models import registry


def score_series(detector: dict[str, Any], windows: dict[str, WindowedSeries],
                 scoring: dict[str, Any]) -> pd.DataFrame:
    """Per-timestamp anomaly scores of a split, each entity with its own detector.

    Args:
        detector: Checkpoint dict from ``fit_detector``.
        windows: The split's windows per entity.
        scoring: ``aggregation`` over the windows covering a timestamp: ``mean`` (default) or ``max``.

    Returns:
        A frame on the split's index with ``score`` (float64, higher = more anomalous) and, when the split
        is labelled, ``label``.
    """
    parts = {}
    for entity, series in windows.items():
        if list(detector["channels"]) != list(series.channels):
            raise ValueError(f"the detector was fitted on channels {detector['channels']}, "
                             f"the data has {list(series.channels)}")
        if entity not in detector["entities"]:
            raise ValueError(f"the detector has no model for entity {entity!r}; "
                             f"it knows {sorted(detector['entities'])}")
        window_scores = registry.from_state(detector["entities"][entity]).decision_function(series.windows)
        scores = pd.DataFrame({"score": series.to_timestamps(window_scores, scoring.get("aggregation", "mean"))},
                              index=series.index)
        if series.labels is not None:
            scores["label"] = series.labels
        parts[entity] = scores
    return join_entities(parts)
