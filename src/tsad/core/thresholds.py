"""Named threshold strategies, fitted on training or validation scores only (never on test labels).

The best-F1 threshold on test labels lives in ``metrics.best_f1`` and is always reported as "oracle".
"""

from __future__ import annotations

import numpy as np


def quantile_threshold(scores: np.ndarray, q: float = 0.99) -> float:
    """The q-quantile of label-free scores (training or validation): about 1 - q of normal points flag."""
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0 or not np.isfinite(scores).all():
        raise ValueError("the threshold needs a non-empty array of finite scores")
    return float(np.quantile(scores, q))


def k_sigma_threshold(scores: np.ndarray, k: float = 3.0) -> float:
    """Mean plus k standard deviations of label-free scores."""
    scores = np.asarray(scores, dtype=np.float64)
    return float(scores.mean() + k * scores.std())


STRATEGIES = {"quantile": quantile_threshold, "k_sigma": k_sigma_threshold}


def fit_threshold(scores: np.ndarray, strategy: str, **options: float) -> float:
    """Fit the named strategy on label-free scores."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown threshold strategy {strategy!r}; available: {sorted(STRATEGIES)}")
    return STRATEGIES[strategy](scores, **options)
