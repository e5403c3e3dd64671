"""Scoring node: window scores from a fitted detector, mapped back to one score per timestamp.

Detectors that score each channel (``Detector.channel_scored``: the Transformer and LSTM predictors) also give
per-channel scores; they travel in the same frame as ``score`` (their sum), one column ``score.<channel>`` each,
so that they stay aligned with it and reach the per-channel thresholds of the evaluation stage and of the
registered model without any other stage changing its inputs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from tsad.core.frames import join_entities, split_entities
from tsad.core.score_frames import CHANNEL_PREFIX, with_departures
from tsad.core.windows import WindowedSeries, n_windows
from tsad.models import registry

AGGREGATIONS = ("mean", "max", "last")


def last_step_timestamps(scores: np.ndarray, window: int, stride: int, n_timestamps: int) -> np.ndarray:
    """Map window scores to timestamps when a window's score belongs to its last row (aggregation ``last``).

    A next-step predictor scores the last row of each window (its prediction from the rows before), so timestamp
    ``t`` takes the score of the window ending at ``t``; with a stride above 1, of the last window ending at or
    before ``t``. The ``W - 1`` rows before the first window ends have no prediction of their own and take the
    first window's score (the seed pads them with zeros, which would read as perfectly normal).

    Args:
        scores: Window scores, shape (N,) or (N, F), window ``j`` covering rows ``[j*S, j*S + W)``.
        window: Window length W.
        stride: Step S.
        n_timestamps: Length T of the series.

    Returns:
        float64 array of shape (T,) or (T, F).
    """
    scores = np.asarray(scores, dtype=np.float64)
    count = n_windows(n_timestamps, window, stride)
    if len(scores) != count:
        raise ValueError(f"{len(scores)} scores given for {count} windows of {window} (stride {stride}) "
                         f"over {n_timestamps} timestamps")
    ending = np.clip((np.arange(n_timestamps) - (window - 1)) // stride, 0, count - 1)  # floor: -1 before the first
    return scores[ending]


def to_timestamps(series: WindowedSeries, scores: np.ndarray, aggregation: str) -> np.ndarray:
    """Window scores (N,) or (N, F) of ``series`` as per-timestamp scores (T,) or (T, F)."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}; use one of {list(AGGREGATIONS)}")
    if aggregation == "last":
        return series.map_stretches(scores, lambda part, rows: last_step_timestamps(part, series.window, series.stride,
                                                                                    rows))
    if scores.ndim == 1:
        return series.to_timestamps(scores, aggregation)
    return np.column_stack([series.to_timestamps(column, aggregation) for column in scores.T])


def scored_windows(series: WindowedSeries, stride: int | str | None) -> WindowedSeries:
    """The windows a detector scores: the split's (``stride`` None), every ``stride``-th start, or
    non-overlapping windows (``"window"``: TAnoGAN's test windows, each of which costs an inversion).

    Raises:
        ValueError: A stride that is neither None, ``"window"`` nor a positive integer.
    """
    if stride is None:
        return series
    step = series.window if stride == "window" else stride
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"scoring.stride must be null, 'window' or a positive integer, got {stride!r}")
    return dataclasses.replace(series, stride=step)


def score_series(detector: dict[str, Any], windows: dict[str, WindowedSeries],
                 scoring: dict[str, Any], departures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-timestamp anomaly scores of a split, each entity with its own detector (``score_split``'s first
    output)."""
    return score_split(detector, windows, scoring, departures)[0]


def score_split(detector: dict[str, Any], windows: dict[str, WindowedSeries], scoring: dict[str, Any],
                departures: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-timestamp anomaly scores of a split, and the detector's own score of each window it scored.

    Args:
        detector: Checkpoint dict from ``fit_detector``.
        windows: The split's windows per entity.
        scoring: ``aggregation`` over the windows covering a timestamp: ``mean`` (default) or ``max``; or
            ``last``, each timestamp the score of the window ending there (next-step predictors, whose window
            score is their last row's). ``stride``: score only every ``stride``-th window, or ``"window"`` for
            non-overlapping ones (default: the split's windows, ``windowing.stride``); rows between get the
            scores of the windows that cover them, so the threshold, the metrics and the registered model
            work as before.
        departures: The split's evidence channel departures (``tsad.core.preprocessing.departures``), or None
            for a split without (validation rows are training rows, where evidence channels are constant).

    Returns:
        A frame on the split's index with ``score`` (float64, higher = more anomalous), for a detector with
        per-channel scores one ``score.<channel>`` column per channel (``score`` is their sum), with
        ``departures`` its ``departed.<channel>`` and ``departed`` columns, and, when the split is labelled,
        ``label``. And the window scores: ``score`` per scored window, indexed by the window's first row (with the
        entity level for multi-entity data), with ``window`` its length: window-level metrics read them
        (``tsad.pipelines.window_evaluation``) instead of mapping the per-timestamp scores back.
    """
    aggregation = scoring.get("aggregation", "mean")
    departed = None if departures is None else split_entities(departures)
    parts, window_parts = {}, {}
    for entity, split_series in windows.items():
        series = scored_windows(split_series, scoring.get("stride"))
        if list(detector["channels"]) != list(series.channels):
            raise ValueError(f"the detector was fitted on channels {detector['channels']}, "
                             f"the data has {list(series.channels)}")
        if entity not in detector["entities"]:
            raise ValueError(f"the detector has no model for entity {entity!r}; "
                             f"it knows {sorted(detector['entities'])}")
        model = registry.from_state(detector["entities"][entity])
        if model.channel_scored:
            per_channel = model.channel_scores(series.windows)  # one pass; the window score is their sum
            window_scores = per_channel.sum(axis=1)
        else:
            per_channel, window_scores = None, model.decision_function(series.windows)
        window_parts[entity] = pd.DataFrame({"score": np.asarray(window_scores, dtype=np.float64),
                                             "window": np.int64(series.window)},
                                            index=series.index[series.window_starts])
        scores = pd.DataFrame({"score": to_timestamps(series, window_scores, aggregation)}, index=series.index)
        if per_channel is not None:
            mapped = to_timestamps(series, per_channel, aggregation)
            scores = pd.concat([scores, pd.DataFrame(mapped, index=series.index,
                                                     columns=[f"{CHANNEL_PREFIX}{c}" for c in series.channels])],
                               axis=1)
        if departed is not None:
            scores = with_departures(scores, departed[entity])
        if series.labels is not None:
            scores["label"] = series.labels
        parts[entity] = scores
    return join_entities(parts), join_entities(window_parts)
