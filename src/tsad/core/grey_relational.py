"""Grey relational analysis (Deng): how closely each feature follows a reference series.

The grade of feature i against reference x0 (methods.md §1.3):
    Δ_i(k) = |x0(k) - x_i(k)| on min-max normalised series,
    ξ_i(k) = (Δmin + ρ Δmax) / (Δ_i(k) + ρ Δmax), Δmin and Δmax taken over all features and steps,
    r_i = mean_k ξ_i(k),   with distinguishing coefficient ρ = 0.5 by default.
"""

from __future__ import annotations

import numpy as np

_BLOCK = 16  # columns per pass: bounds the temporary (T, block) arrays on long series


def minmax_normalise(values: np.ndarray) -> np.ndarray:
    """Scale each column to [0, 1]; a constant column becomes all zeros."""
    values = np.asarray(values, dtype=np.float64)
    low, high = values.min(axis=0), values.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (values - low) / span


def grey_relational_grades(features: np.ndarray, reference: np.ndarray, rho: float = 0.5) -> np.ndarray:
    """Grey relational grade of every column of ``features`` against ``reference``.

    Args:
        features: Array of shape (T, C).
        reference: Reference series of shape (T,).
        rho: Distinguishing coefficient in (0, 1].

    Returns:
        Grades of shape (C,), each in (0, 1]; a feature equal to the reference gets 1.
    """
    if not 0 < rho <= 1:
        raise ValueError(f"the distinguishing coefficient must be in (0, 1], got {rho}")
    features = np.asarray(features)
    if features.ndim != 2 or len(features) != len(reference) or len(features) == 0:
        raise ValueError(f"features {features.shape} and reference {np.shape(reference)} do not match")
    x0 = minmax_normalise(np.asarray(reference).reshape(-1, 1))
    blocks = range(0, features.shape[1], _BLOCK)
    d_min, d_max = np.inf, 0.0
    for start in blocks:  # pass 1: global Δmin and Δmax
        delta = np.abs(minmax_normalise(features[:, start:start + _BLOCK]) - x0)
        d_min, d_max = min(d_min, delta.min()), max(d_max, delta.max())
    if d_max == 0:  # every feature equals the reference
        return np.ones(features.shape[1])
    grades = np.empty(features.shape[1])
    for start in blocks:  # pass 2: coefficients averaged over time
        delta = np.abs(minmax_normalise(features[:, start:start + _BLOCK]) - x0)
        grades[start:start + _BLOCK] = ((d_min + rho * d_max) / (delta + rho * d_max)).mean(axis=0)
    return grades


def select_by_grade(grades: np.ndarray, top_k: int | None = None, min_grade: float | None = None) -> np.ndarray:
    """Indices of the selected features, in their original order.

    Args:
        grades: Grades of shape (C,).
        top_k: Keep the k highest grades (ties broken by column order).
        min_grade: Keep grades at or above this value. Both rules may be combined; none keeps all.

    Returns:
        Sorted int array of column indices; never empty (the best feature is always kept).
    """
    keep = np.ones(len(grades), dtype=bool)
    if min_grade is not None:
        keep &= grades >= min_grade
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        ranked = np.argsort(-grades, kind="stable")[:top_k]
        in_top = np.zeros(len(grades), dtype=bool)
        in_top[ranked] = True
        keep &= in_top
    if not keep.any():
        keep[int(np.argmax(grades))] = True
    return np.flatnonzero(keep)
