"""Fitting a named strategy on label-free scores, and flagging scores with the fitted threshold."""

from __future__ import annotations

from typing import Any

import numpy as np

from tsad.core.thresholds.base import (
    FLAG_OPTIONS,
    FittedThreshold,
    Flagging,
    check_scores,
    get_strategy,
    persistence_of,
)


def fit(scores: np.ndarray, strategy: str, **options: Any) -> FittedThreshold:
    """Fit the named strategy on label-free scores (training or validation data).

    Args:
        scores: 1-D finite scores, higher = more anomalous.
        strategy: A registered strategy (``STRATEGIES``).
        **options: The strategy's options (its ``Options``) and ``persistence``.

    Raises:
        ValueError: Unknown strategy or option, a missing option, empty or non-finite scores, or an option out of
            range.
        ThresholdError: The strategy finds no threshold in these scores (the message says what to change).
    """
    rule = get_strategy(strategy)
    scores = check_scores(scores)
    persistence_of(options)
    value, state = rule.fit(scores, rule.options({k: v for k, v in options.items() if k not in FLAG_OPTIONS}))
    return FittedThreshold(strategy, float(value), dict(options), state)


def apply(scores: np.ndarray, fitted: FittedThreshold) -> Flagging:
    """Flag scores with a fitted threshold: the strategy's decision scores reach its threshold trace for
    ``persistence`` points in a row, then the strategy's own post-processing."""
    scores = check_scores(scores)
    rule = get_strategy(fitted.strategy)
    persistence = persistence_of(fitted.options)
    options = rule.options({k: v for k, v in fitted.options.items() if k not in FLAG_OPTIONS})
    decision = rule.decision(scores, options)
    trace = rule.trace(decision, fitted, options)
    flags = rule.refine(decision, persistent(decision >= trace, persistence), options)
    return Flagging(flags, decision, trace)


def persistent(exceed: np.ndarray, persistence: int) -> np.ndarray:
    """Points that end a run of at least ``persistence`` consecutive exceedances (itself and the m - 1 before)."""
    exceed = np.asarray(exceed, dtype=bool)
    if persistence <= 1:
        return exceed.copy()
    index = np.arange(len(exceed))
    last_quiet = np.maximum.accumulate(np.where(exceed, -1, index))
    return index - last_quiet >= persistence


def persistent_scores(scores: np.ndarray, persistence: int) -> np.ndarray:
    """The minimum of each point's last ``persistence`` scores (-inf before that many exist).

    ``persistent(scores >= t, m)`` equals ``persistent_scores(scores, m) >= t`` for every t, so metrics over all
    thresholds (the oracle) apply persistence by thresholding these.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if persistence <= 1:
        return scores.copy()
    out = np.full(len(scores), -np.inf)
    if len(scores) >= persistence:
        out[persistence - 1:] = np.lib.stride_tricks.sliding_window_view(scores, persistence).min(axis=1)
    return out
