"""Detection metrics on point labels, flags and scores, vectorised in NumPy.

Threshold-dependent metrics take boolean flags (``tsad.core.thresholds`` turns scores into flags);
threshold-free metrics take the scores. Labelled anomalies and flags are handled as *segments* (maximal runs of
ones, ``[start, end)``), and every per-segment quantity is computed with segment reductions rather than loops.

What each family rewards, and its reference:
- point-wise precision / recall / F1: every timestamp counts once.
- point adjustment (PA, OmniAnomaly's ``adjust_predicts``): a labelled segment with any flag counts as wholly
  detected. PA inflates F1 (a random score reaches 0.8-0.99 on SMD, SWaT or MSL, ../shared/docs/peers.md §4), so it
  is only ever reported beside point-wise metrics and a random control.
- PA%K (Kim et al., AAAI 2022): a segment is adjusted only when more than K % of it is flagged; the area under
  F1(K) for K in [0, 100] summarises the curve.
- event-wise and composite F1 (Garg et al., IEEE TNNLS 2021): event recall is the share of labelled segments with a
  flag; the composite F1 is the harmonic mean of point-wise precision and event recall.
- range-based precision / recall (Tatbul et al., NeurIPS 2018): existence, overlap size with a positional bias,
  and a cardinality factor for fragmented detections.
- affiliation precision / recall (Huet et al., KDD 2022): distances between flags and labelled events, turned into
  probabilities against a uniformly random flag inside each event's affiliation zone.
- ROC-AUC, PR-AUC (average precision); VUS-ROC / VUS-PR (Paparrizos et al., VLDB 2022): the range-AUC surfaces
  averaged over label-buffer widths 0..W, reproducing TSB-AD 1.5's ``RangeAUC_volume_opt`` to the last bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_BIASES = ("flat", "front", "back", "middle")
_CARDINALITIES = ("one", "reciprocal")


# --------------------------------------------------------------------------------------------------- segments
def segments(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each run of ones in a 0/1 array."""
    padded = np.concatenate(([0], (np.asarray(labels) > 0).astype(np.int8), [0]))
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _segment_reduce(ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``ufunc.reduce`` of ``values`` over each non-empty ``[start, end)`` (segments disjoint and sorted)."""
    if len(starts) == 0:
        return np.empty(0, dtype=values.dtype)
    padded = np.append(values, values[:1])  # so that an end at len(values) is a valid reduceat index
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    return ufunc.reduceat(padded, bounds)[0::2]


def _segment_max(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Maximum of ``values`` over each [start, end) segment (segments are disjoint and non-adjacent)."""
    return _segment_reduce(np.maximum, values, starts, ends)


def _segment_mask(starts: np.ndarray, ends: np.ndarray, n: int) -> np.ndarray:
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, ends, -1)
    return np.cumsum(delta[:n]) > 0


def _segment_ids(starts: np.ndarray, ends: np.ndarray, n: int) -> np.ndarray:
    """Index of the segment holding each point, -1 outside every segment."""
    delta = np.zeros(n + 1, dtype=np.int64)
    delta[starts] += np.arange(1, len(starts) + 1)
    delta[ends] -= np.arange(1, len(starts) + 1)
    return np.cumsum(delta[:n]) - 1


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def _f1(precision: float, recall: float) -> float:
    if not np.isfinite(precision) or not np.isfinite(recall) or precision + recall <= 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def _as_flags(labels: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, flags = np.asarray(labels) > 0, np.asarray(flags) > 0
    if labels.shape != flags.shape or labels.ndim != 1:
        raise ValueError(f"labels and flags must be 1-D arrays of one length, got {labels.shape} and {flags.shape}")
    return labels, flags


# --------------------------------------------------------------------------------------------------- point-wise
def precision_recall_f1(labels: np.ndarray, flags: np.ndarray) -> tuple[float, float, float]:
    """Point-wise precision, recall and F1 (0 where undefined)."""
    labels, flags = _as_flags(labels, flags)
    tp = float(np.sum(labels & flags))
    precision = tp / max(float(flags.sum()), 1.0)
    recall = tp / max(float(labels.sum()), 1.0)
    return precision, recall, _f1(precision, recall)


def point_adjust(labels: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Flags after point adjustment: every point of a labelled segment with any flag becomes flagged."""
    return point_adjust_k(labels, flags, 0.0)


def point_adjust_k(labels: np.ndarray, flags: np.ndarray, k: float) -> np.ndarray:
    """PA%K (Kim et al. 2022, §4): a labelled segment becomes wholly flagged when more than ``k`` % is flagged.

    ``k = 0`` is plain point adjustment (any flag); ``k = 100`` leaves the flags as they are.
    """
    labels, flags = _as_flags(labels, flags)
    starts, ends = segments(labels)
    if len(starts) == 0:
        return flags.copy()
    hits = _segment_reduce(np.add, flags.astype(np.int64), starts, ends)
    adjusted = flags.copy()
    chosen = hits > k / 100.0 * (ends - starts)
    adjusted[_segment_mask(starts[chosen], ends[chosen], len(flags))] = True
    return adjusted


def pa_k_curve(labels: np.ndarray, flags: np.ndarray, ks: Sequence[float] | np.ndarray = tuple(range(101))
               ) -> dict[str, np.ndarray]:
    """Precision, recall and F1 of PA%K for every K at once.

    Adjustment only turns labelled points into true positives, so false positives are those of the raw flags;
    each segment contributes its length when adjusted and its raw hits otherwise.

    Returns:
        ``{"k", "precision", "recall", "f1"}``, arrays over ``ks``.
    """
    labels, flags = _as_flags(labels, flags)
    ks = np.asarray(ks, dtype=np.float64)
    starts, ends = segments(labels)
    lengths = ends - starts
    hits = _segment_reduce(np.add, flags.astype(np.int64), starts, ends).astype(np.float64)
    adjusted = hits[None, :] > ks[:, None] / 100.0 * lengths[None, :]  # (K, segments)
    tp = np.where(adjusted, lengths[None, :], hits[None, :]).sum(axis=1)
    fp = float(np.sum(flags & ~labels))
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1.0), 0.0)
    recall = tp / max(float(labels.sum()), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"k": ks, "precision": precision, "recall": recall, "f1": f1}


def pa_k_auc(labels: np.ndarray, flags: np.ndarray, ks: Sequence[float] | np.ndarray = tuple(range(101))) -> float:
    """Area under F1(PA%K) over K / 100 in [0, 1] (trapezoids), as Kim et al. summarise the PA%K curve."""
    curve = pa_k_curve(labels, flags, ks)
    x = curve["k"] / 100.0
    if len(x) < 2 or x[-1] <= x[0]:
        raise ValueError(f"the PA%K area needs at least two increasing K values, got {list(curve['k'])}")
    return float(_trapezoid(curve["f1"], x) / (x[-1] - x[0]))


# --------------------------------------------------------------------------------------------------- event-wise
def event_precision_recall_f1(labels: np.ndarray, flags: np.ndarray) -> tuple[float, float, float]:
    """Event-wise precision, recall and F1.

    Event recall (Garg et al. 2021, eq. 2): the share of labelled segments with at least one flag. Event precision:
    the share of flagged segments (runs of flags) that overlap a labelled segment. 0 where undefined.
    """
    labels, flags = _as_flags(labels, flags)
    label_starts, label_ends = segments(labels)
    flag_starts, flag_ends = segments(flags)
    detected = _segment_reduce(np.logical_or, flags, label_starts, label_ends)
    relevant = _segment_reduce(np.logical_or, labels, flag_starts, flag_ends)
    recall = float(detected.mean()) if len(detected) else 0.0
    precision = float(relevant.mean()) if len(relevant) else 0.0
    return precision, recall, _f1(precision, recall)


# --------------------------------------------------------------------------------------------------- range-based
def _positional_bias(position: np.ndarray, length: np.ndarray, bias: str) -> np.ndarray:
    """delta(i, L) of Tatbul et al. §4 for 1-based positions ``i`` inside ranges of length ``L``."""
    if bias == "flat":
        return np.ones(len(position))
    if bias == "front":
        return (length - position + 1).astype(np.float64)
    if bias == "back":
        return position.astype(np.float64)
    if bias == "middle":
        return np.where(position <= length / 2.0, position, length - position + 1).astype(np.float64)
    raise ValueError(f"unknown positional bias {bias!r}; use one of {_BIASES}")


def _range_recall(real: np.ndarray, other: np.ndarray, alpha: float, bias: str, cardinality: str) -> float:
    """Tatbul et al. eq. 1-5: mean over the ranges of ``real`` of alpha*Existence + (1-alpha)*Overlap w.r.t. ``other``.

    Overlap(R_i) = gamma(x_i) * sum_j omega(R_i, R_i ∩ P_j, delta), where the sum over the disjoint P_j equals
    the bias-weighted share of R_i's points that ``other`` flags, and x_i counts the ranges of ``other`` meeting R_i.
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if cardinality not in _CARDINALITIES:
        raise ValueError(f"unknown cardinality {cardinality!r}; use one of {_CARDINALITIES}")
    starts, ends = segments(real)
    if len(starts) == 0:
        return 0.0
    n = len(real)
    ids = _segment_ids(starts, ends, n)
    inside = ids >= 0
    lengths = (ends - starts)[ids[inside]]
    weights = _positional_bias(np.flatnonzero(inside) - starts[ids[inside]] + 1, lengths, bias)
    total = np.bincount(ids[inside], weights=weights, minlength=len(starts))
    covered = np.bincount(ids[inside], weights=weights * other[inside], minlength=len(starts))
    omega = np.divide(covered, total, out=np.zeros_like(total), where=total > 0)
    other_starts = np.zeros(n + 1, dtype=np.int64)
    other_starts[segments(other)[0]] = 1
    cumulative = np.concatenate(([0], np.cumsum(other_starts[:n])))
    meeting = cumulative[ends] - cumulative[starts] + (other[starts] & (other_starts[starts] == 0))
    gamma = np.ones(len(starts)) if cardinality == "one" else 1.0 / np.maximum(meeting, 1)
    existence = (meeting > 0).astype(np.float64)
    return float(np.mean(alpha * existence + (1 - alpha) * gamma * omega))


def range_precision_recall(labels: np.ndarray, flags: np.ndarray, alpha: float = 0.0, bias: str = "flat",
                           cardinality: str = "one") -> tuple[float, float]:
    """Range-based precision and recall (Tatbul et al., NeurIPS 2018).

    Args:
        labels: Point labels (0/1).
        flags: Point flags.
        alpha: Weight of the existence reward in recall (eq. 1); precision has none (eq. 6).
        bias: Positional bias delta: ``flat``, ``front``, ``back`` or ``middle``.
        cardinality: gamma: ``one`` (fragmentation not penalised) or ``reciprocal`` (1 / number of overlapping
            ranges).

    Returns:
        ``(precision, recall)``, 0 where there is no flagged (resp. labelled) range.
    """
    labels, flags = _as_flags(labels, flags)
    recall = _range_recall(labels, flags, alpha, bias, cardinality)
    precision = _range_recall(flags, labels, 0.0, bias, cardinality)
    return precision, recall


# --------------------------------------------------------------------------------------------------- affiliation
def _psi(d: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Integral over [0, d] of (c - t)_+ dt, for d >= 0 and c >= 0."""
    m = np.minimum(d, c)
    return c * m - m * m / 2.0


def _positive_square_integral(h_u: np.ndarray, h_v: np.ndarray, slope: float) -> np.ndarray:
    """Integral over [u, v] of (h(y))_+ for h linear with the given non-zero slope: (h(v)_+^2 - h(u)_+^2) / 2 slope."""
    return (np.maximum(h_v, 0.0) ** 2 - np.maximum(h_u, 0.0) ** 2) / (2.0 * slope)


def affiliation_precision_recall(labels: np.ndarray, flags: np.ndarray) -> tuple[float, float]:
    """Affiliation precision and recall (Huet et al., KDD 2022), on the time range ``[0, n)``.

    Point ``i`` stands for the interval ``[i, i + 1)``. Each labelled event ``J`` owns an affiliation zone ``E``
    (the points closer to it than to any other event). Individual precision is the mean, over the flagged time in
    ``E``, of the survival function of d(x, J) for x uniform in E (Def. 2); individual recall is the mean over J of
    the survival function of d(y, flags in E) (Def. 3). Precision averages the zones that hold a flag, recall all
    events.

    Zone bounds and the nearest-flag switch points are multiples of 0.5, so each half cell ``[u, u + 0.5)`` has one
    zone and one nearest flag, and the piecewise-linear integrands are integrated in closed form per half cell.

    Returns:
        ``(precision, recall)``; precision is NaN without any flag (undefined, as in the paper), both NaN without
        labelled events.
    """
    labels, flags = _as_flags(labels, flags)
    n = len(labels)
    starts, ends = segments(labels)
    if len(starts) == 0:
        return float("nan"), float("nan")
    bounds = np.concatenate(([0.0], (ends[:-1] + starts[1:]) / 2.0, [float(n)]))  # zone k = [bounds[k], bounds[k+1]]
    zone_start, zone_end = bounds[:-1], bounds[1:]
    zone_width = zone_end - zone_start
    left_room, right_room = starts - zone_start, zone_end - ends  # L and R: room between the event and its zone's ends

    # Precision: integrate the survival function over the flagged half cells of each zone.
    flagged = np.flatnonzero(flags)
    u = np.concatenate((flagged, flagged + 0.5)).astype(np.float64)
    v = u + 0.5
    zone = np.searchsorted(bounds[1:-1], u, side="right")
    a, b = starts[zone].astype(np.float64), ends[zone].astype(np.float64)
    phi = lambda d: _psi(d, left_room[zone]) + _psi(d, right_room[zone])  # noqa: E731
    before = v <= a
    after = u >= b
    integral = np.where(before, phi(np.maximum(a - u, 0)) - phi(np.maximum(a - v, 0)),
                        np.where(after, phi(np.maximum(v - b, 0)) - phi(np.maximum(u - b, 0)), 0.0))
    integral = np.where(before | after, integral / zone_width[zone], 0.5)
    flagged_time = np.bincount(zone, minlength=len(starts)) * 0.5
    precision_sum = np.bincount(zone, weights=integral, minlength=len(starts))
    has_flag = flagged_time > 0
    precision = float(np.mean(precision_sum[has_flag] / flagged_time[has_flag])) if has_flag.any() else float("nan")

    # Recall: for each labelled point, the nearest flag inside the event's zone on either side.
    index = np.arange(n)
    last_flag = np.maximum.accumulate(np.where(flags, index, -1))
    next_flag = np.minimum.accumulate(np.where(flags, index, n)[::-1])[::-1]
    points = np.flatnonzero(labels)
    event = _segment_ids(starts, ends, n)[points]
    e0, e1 = zone_start[event], zone_end[event]
    previous = np.concatenate(([-1], last_flag[:-1]))[points]  # last flag strictly before the point
    following = np.concatenate((next_flag[1:], [n]))[points]  # first flag strictly after the point
    p_left = previous + 1.0  # right end of that flag's interval
    p_right = following.astype(np.float64)
    left_ok = (previous >= 0) & (p_left > e0)
    right_ok = (following < n) & (p_right < e1)
    y0 = np.concatenate((points, points + 0.5)).astype(np.float64)
    y1 = y0 + 0.5
    e0, e1, width = np.tile(e0, 2), np.tile(e1, 2), np.tile(zone_width[event], 2)
    p_left, p_right = np.tile(p_left, 2), np.tile(p_right, 2)
    left_ok, right_ok = np.tile(left_ok, 2), np.tile(right_ok, 2)
    use_left = left_ok & (~right_ok | (y1 <= (p_left + p_right) / 2.0))
    use_right = right_ok & ~use_left
    # Nearest flag on the left at p: survival = ((p - e0) + (e1 + p - 2y)_+) / |E|.
    from_left = (p_left - e0) * 0.5 + _positive_square_integral(e1 + p_left - 2 * y0, e1 + p_left - 2 * y1, -2.0)
    # Nearest flag on the right at p: survival = ((2y - e0 - p)_+ + (e1 - p)) / |E|.
    from_right = (e1 - p_right) * 0.5 + _positive_square_integral(2 * y0 - e0 - p_right, 2 * y1 - e0 - p_right, 2.0)
    survival = np.where(use_left, from_left, np.where(use_right, from_right, 0.0)) / width
    survival = np.where(np.tile(flags[points], 2), 0.5, survival)
    recall_sum = np.bincount(np.tile(event, 2), weights=survival, minlength=len(starts))
    zone_flagged = np.bincount(zone, minlength=len(starts)) > 0
    recall_per_event = np.where(zone_flagged, recall_sum / (ends - starts), 0.0)
    return precision, float(np.mean(recall_per_event))


# --------------------------------------------------------------------------------------------------- threshold-free
def _ranked_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives of ``scores >= t`` at every distinct score t, from the highest down."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    last_of_tie = np.append(sorted_scores[1:] != sorted_scores[:-1], True)
    tp = np.cumsum(labels[order])[last_of_tie].astype(np.float64)
    fp = np.arange(1, len(scores) + 1)[last_of_tie] - tp
    return tp, fp, sorted_scores[last_of_tie]


def _check_scores(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels) > 0, np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f"labels and scores must be 1-D arrays of one length, got {labels.shape} and {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"scores must be finite; row {int(np.flatnonzero(~np.isfinite(scores))[0])} is not")
    return labels, scores


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids over distinct thresholds, ties as one step), NaN with one class."""
    labels, scores = _check_scores(labels, scores)
    positives = float(labels.sum())
    if positives == 0 or positives == len(labels):
        return float("nan")
    tp, fp, _ = _ranked_counts(labels, scores)
    tpr = np.concatenate(([0.0], tp / positives))
    fpr = np.concatenate(([0.0], fp / (len(labels) - positives)))
    return float(_trapezoid(tpr, fpr))


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision, sum over distinct thresholds of (R_k - R_{k-1}) P_k (no interpolation); NaN without anomalies.
    """
    labels, scores = _check_scores(labels, scores)
    positives = float(labels.sum())
    if positives == 0:
        return float("nan")
    tp, fp, _ = _ranked_counts(labels, scores)
    recall = np.concatenate(([0.0], tp / positives))
    return float(np.sum(np.diff(recall) * tp / (tp + fp)))


def pr_curve(labels: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Precision and recall of ``scores >= t`` at every distinct score t (highest first), and those thresholds."""
    labels, scores = _check_scores(labels, scores)
    tp, fp, thresholds = _ranked_counts(labels, scores)
    return {"precision": tp / (tp + fp), "recall": tp / max(float(labels.sum()), 1.0), "threshold": thresholds}


def best_f1(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The best point-wise F1 over all thresholds: the "oracle", since the test labels choose it.

    Returns:
        ``{"f1", "precision", "recall", "threshold"}``; flags are ``scores >= threshold``.
    """
    labels, scores = np.asarray(labels) > 0, np.asarray(scores, dtype=np.float64)
    tp, fp, thresholds = _ranked_counts(labels, scores)
    precision = tp / (tp + fp)
    recall = tp / max(labels.sum(), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))
    return {"f1": float(f1[best]), "precision": float(precision[best]), "recall": float(recall[best]),
            "threshold": float(thresholds[best])}


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


def vus(labels: np.ndarray, scores: np.ndarray, window: int = 100, n_thresholds: int = 250) -> tuple[float, float]:
    """VUS-ROC and VUS-PR (Paparrizos et al., VLDB 2022), equal to TSB-AD 1.5's ``RangeAUC_volume_opt``.

    For each buffer width w in 0..window, labels get soft margins of w // 2 points on each side of every labelled
    segment (weight sqrt(1 - d / w) at distance d); at each of ``n_thresholds`` thresholds (scores of evenly spaced
    ranks) the range-TPR (recall against the buffered labels times the share of buffered segments hit), the range-FPR
    and the precision give one ROC and one PR curve, whose areas are averaged over w.

    Every threshold is handled at once: each point gets the first threshold index that flags it, so flagged counts
    and buffered-label sums over all thresholds are cumulative sums of histograms over those indices. The points
    outside the widest buffer only enter through the flagged counts, so each width costs the buffer's size, not n.

    Returns:
        ``(vus_roc, vus_pr)``, NaN without labelled anomalies.
    """
    labels, scores = _check_scores(labels, scores)
    if int(window) != window or window < 0 or int(n_thresholds) != n_thresholds or n_thresholds < 1:
        raise ValueError(f"window must be an integer >= 0 and n_thresholds >= 1, got {window}, {n_thresholds}")
    n = len(scores)
    starts, ends = segments(labels)
    if len(starts) == 0:
        return float("nan"), float("nan")
    last = ends - 1  # TSB-AD works with inclusive ends
    positives = float(labels.sum())
    ranks = np.linspace(0, n - 1, n_thresholds).astype(int)
    cut = -np.sort(-scores)[ranks]  # non-increasing thresholds; threshold j flags scores >= cut[j]
    first_flag = np.searchsorted(-cut, -scores, side="left")  # the first threshold index flagging each point
    flagged_count = np.cumsum(np.bincount(first_flag, minlength=n_thresholds)).astype(np.float64)
    label_hits = np.cumsum(np.bincount(first_flag[labels], minlength=n_thresholds)).astype(np.float64)

    half_max = window // 2
    zone = np.flatnonzero(_segment_mask(np.maximum(starts - half_max, 0), np.minimum(last + half_max + 1, n), n))
    zone_first = first_flag[zone]
    zone_label = labels[zone]
    outside_label = ~zone_label

    roc_areas, pr_areas = np.empty(window + 1), np.empty(window + 1)
    for width in range(window + 1):  # one pass per buffer width (101 by default), each vectorised over thresholds
        half = width // 2
        buffered = zone_label.astype(np.float64)
        if half > 0:
            distance = np.arange(1, half + 1)
            weight = np.sqrt(1 - distance / width)
            before = starts[:, None] - distance[None, :]
            after = last[:, None] + distance[None, :]
            position = np.concatenate((before.ravel(), after.ravel()))
            weights = np.concatenate((np.broadcast_to(weight, before.shape).ravel(),
                                      np.broadcast_to(weight, after.shape).ravel()))
            valid = (position >= 0) & (position < n)
            buffered += np.bincount(np.searchsorted(zone, position[valid]), weights=weights[valid],
                                    minlength=len(zone))
            np.minimum(buffered, 1.0, out=buffered)
        margin_hits = np.cumsum(np.bincount(zone_first[outside_label], weights=buffered[outside_label],
                                            minlength=n_thresholds))
        true_positive = label_hits + margin_hits
        # The buffered segments of this width (TSB-AD's new_sequence): merge when the margins meet.
        gap_split = last[:-1] + half < starts[1:] - half
        group_start = np.concatenate(([0], np.flatnonzero(gap_split) + 1))
        group_end = np.concatenate((np.flatnonzero(gap_split), [len(starts) - 1]))
        seg_lo = np.maximum(starts[group_start] - half, 0)
        seg_hi = np.minimum(last[group_end] + half, n - 1)
        lo, hi = np.searchsorted(zone, seg_lo), np.searchsorted(zone, seg_hi, side="right")
        earliest = _segment_reduce(np.minimum, zone_first, lo, hi)
        existence = np.cumsum(np.bincount(earliest, minlength=n_thresholds)) / len(group_start)
        p_new = positives + margin_hits / 2.0  # (P + N_labels) / 2 with N_labels = P + margin hits
        recall = np.minimum(true_positive / p_new, 1.0)
        tpr = np.concatenate(([0.0], recall * existence, [1.0]))
        fpr = np.concatenate(([0.0], (flagged_count - true_positive) / (n - p_new), [1.0]))
        precision = true_positive / flagged_count
        roc_areas[width] = np.dot(np.diff(fpr), (tpr[1:] + tpr[:-1]) / 2)
        pr_areas[width] = np.dot(np.diff(tpr[:-1]), precision)
    return float(roc_areas.mean()), float(pr_areas.mean())


# --------------------------------------------------------------------------------------------------- summaries
def flag_metrics(labels: np.ndarray, flags: np.ndarray, *, range_alpha: float, range_bias: str,
                 range_cardinality: str, pa_k: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Every threshold-dependent metric of one set of flags (the options are the evaluation's, see
    ``tsad.core.evaluation.EvaluationOptions``).

    Returns:
        ``precision, recall, f1`` (point-wise), ``pa_*`` (point-adjusted), ``pa_k_auc``, ``event_*``,
        ``composite_f1``, ``range_*``, ``affiliation_*`` and ``flagged_fraction``.
    """
    labels, flags = _as_flags(labels, flags)
    precision, recall, f1 = precision_recall_f1(labels, flags)
    pa_precision, pa_recall, pa_f1 = precision_recall_f1(labels, point_adjust(labels, flags))
    event_precision, event_recall, event_f1 = event_precision_recall_f1(labels, flags)
    range_precision, range_recall = range_precision_recall(labels, flags, range_alpha, range_bias, range_cardinality)
    affiliation_precision, affiliation_recall = affiliation_precision_recall(labels, flags)
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "pa_precision": pa_precision, "pa_recall": pa_recall, "pa_f1": pa_f1,
        "pa_k_auc": pa_k_auc(labels, flags, pa_k),
        "event_precision": event_precision, "event_recall": event_recall, "event_f1": event_f1,
        "composite_f1": _f1(precision, event_recall),  # Garg et al. 2021, eq. 3
        "range_precision": range_precision, "range_recall": range_recall,
        "range_f1": _f1(range_precision, range_recall),
        "affiliation_precision": affiliation_precision, "affiliation_recall": affiliation_recall,
        "affiliation_f1": _f1(affiliation_precision, affiliation_recall),
        "flagged_fraction": float(flags.mean()),
    }
