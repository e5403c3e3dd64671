"""Detection metrics on point labels and scores, vectorised in NumPy.

Flags are ``scores >= threshold``. Point-adjusted (PA) metrics follow OmniAnomaly's ``adjust_predicts``: a
labelled segment with any flagged point counts as wholly detected. PA inflates F1 (a random score reaches
0.8-0.99 on SMD, SWaT or MSL, ../shared/docs/peers.md §4), so it is only ever reported beside point-wise
metrics and a random control.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def segments(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each run of ones in a 0/1 array."""
    padded = np.concatenate(([0], (np.asarray(labels) > 0).astype(np.int8), [0]))
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def precision_recall_f1(labels: np.ndarray, flags: np.ndarray) -> tuple[float, float, float]:
    """Point-wise precision, recall and F1 (0 where undefined)."""
    labels, flags = np.asarray(labels) > 0, np.asarray(flags) > 0
    tp = float(np.sum(labels & flags))
    precision = tp / max(float(flags.sum()), 1.0)
    recall = tp / max(float(labels.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def point_adjust(labels: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Flags after point adjustment: every point of a labelled segment with any flag becomes flagged."""
    flags = np.asarray(flags) > 0
    starts, ends = segments(labels)
    if len(starts) == 0:
        return flags.copy()
    hit = _segment_max(flags.astype(np.int8), starts, ends) > 0
    adjusted = flags.copy()
    adjusted[_segment_mask(starts[hit], ends[hit], len(flags))] = True
    return adjusted


def point_adjusted_scores(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores in which every point of a labelled segment takes the segment's maximum.

    Thresholding these gives the PA flags of every threshold at once: ``point_adjust(y, s >= t)`` equals
    ``point_adjusted_scores(y, s) >= t`` on labelled points and ``s >= t`` elsewhere.
    """
    scores = np.asarray(scores, dtype=np.float64)
    starts, ends = segments(labels)
    if len(starts) == 0:
        return scores.copy()
    peaks = _segment_max(scores, starts, ends)
    out = scores.copy()
    out[_segment_mask(starts, ends, len(scores))] = np.repeat(peaks, ends - starts)
    return out


def best_f1(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The best point-wise F1 over all thresholds: the "oracle", since the test labels choose it.

    Returns:
        ``{"f1", "precision", "recall", "threshold"}``; flags are ``scores >= threshold``.
    """
    labels = np.asarray(labels) > 0
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    tp = np.cumsum(labels[order])
    flagged = np.arange(1, len(scores) + 1)
    last_of_tie = np.append(sorted_scores[1:] != sorted_scores[:-1], True)  # thresholds between distinct scores
    tp, flagged, thresholds = tp[last_of_tie], flagged[last_of_tie], sorted_scores[last_of_tie]
    precision = tp / flagged
    recall = tp / max(labels.sum(), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))
    return {"f1": float(f1[best]), "precision": float(precision[best]), "recall": float(recall[best]),
            "threshold": float(thresholds[best])}


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve, NaN when only one class is present."""
    labels = np.asarray(labels) > 0
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision), NaN without anomalies."""
    labels = np.asarray(labels) > 0
    return float(average_precision_score(labels, scores)) if labels.any() else float("nan")


def threshold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Point-wise and point-adjusted precision, recall and F1 of the flags ``scores >= threshold``."""
    flags = np.asarray(scores) >= threshold
    precision, recall, f1 = precision_recall_f1(labels, flags)
    pa_precision, pa_recall, pa_f1 = precision_recall_f1(labels, point_adjust(labels, flags))
    return {"precision": precision, "recall": recall, "f1": f1, "pa_precision": pa_precision,
            "pa_recall": pa_recall, "pa_f1": pa_f1, "flagged_fraction": float(flags.mean())}


def _segment_max(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Maximum of ``values`` over each [start, end) segment (segments are disjoint and non-adjacent)."""
    padded = np.append(values, np.zeros(1, dtype=values.dtype))  # so that an end at len(values) is a valid index
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    return np.maximum.reduceat(padded, bounds)[0::2]


def _segment_mask(starts: np.ndarray, ends: np.ndarray, n: int) -> np.ndarray:
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, ends, -1)
    return np.cumsum(delta[:n]) > 0
