"""The non-parametric dynamic threshold of Hundman et al. (KDD 2018, §3.2-3.3): EWMA-smoothed scores, epsilon =
mean + z * std with z maximising the drop in mean and std per anomalous point and sequence, anomalous sequences
widened by an error buffer and pruned by the relative gaps between their maxima. The ``dynamic`` strategy
(``strategies.py``) uses it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tsad.core.thresholds.base import check_scores


@dataclasses.dataclass(frozen=True)
class DynamicOptions:
    """Options of the dynamic threshold (telemanom's: smoothing 70 * 30 * 0.05, error buffer 100, p = 0.13).

    Attributes:
        span: EWMA span of the smoothing.
        z_min: Smallest z tried.
        z_max: z tried up to (excluded); also the z when none qualifies.
        z_step: Step between the z tried.
        error_buffer: Flags widen to every point within ``error_buffer - 1`` of a flag.
        max_sequences: Most anomalous sequences a qualifying z may give.
        max_anomalous_fraction: A qualifying z flags fewer than this share of the points.
        prune: Smallest relative gap between sequence maxima that keeps the sequences above it (when flagging).
    """

    span: float = 105
    z_min: float = 2.5
    z_max: float = 12.0
    z_step: float = 0.5
    error_buffer: int = 100
    max_sequences: int = 5
    max_anomalous_fraction: float = 0.5
    prune: float = 0.13

    def __post_init__(self) -> None:
        if not 0 <= self.prune < 1:
            raise ValueError(f"prune must be in [0, 1), got {self.prune}")


def ewma(scores: np.ndarray, span: float) -> np.ndarray:
    """Exponentially weighted moving average (pandas ``ewm(span).mean()``, Hundman et al. §3.2 smoothing)."""
    if span < 1:
        raise ValueError(f"span must be >= 1, got {span}")
    return pd.Series(np.asarray(scores, dtype=np.float64)).ewm(span=span).mean().to_numpy()


def widen(flags: np.ndarray, buffer: int) -> np.ndarray:
    """Flags widened to every point within ``buffer - 1`` of a flag (telemanom's error buffer)."""
    flags = np.asarray(flags, dtype=bool)
    if buffer <= 1:
        return flags.copy()
    counts = np.concatenate(([0], np.cumsum(flags)))
    index = np.arange(len(flags))
    low, high = np.maximum(index - buffer + 1, 0), np.minimum(index + buffer, len(flags))
    return counts[high] - counts[low] > 0


def _sequences(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of flags longer than one point (telemanom's E_seq), as [start, end)."""
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    starts, ends = np.flatnonzero(np.diff(padded) == 1), np.flatnonzero(np.diff(padded) == -1)
    longer = ends - starts > 1
    return starts[longer], ends[longer]


def prune_sequences(decision: np.ndarray, flags: np.ndarray, prune: float) -> np.ndarray:
    """Hundman et al. §3.3: keep the anomalous sequences down to the last large relative gap between maxima.

    The sequences' maxima, sorted, with the largest unflagged decision score after them, give relative drops
    (m_i - m_{i+1}) / m_i; the sequences after the last drop of at least ``prune`` are dropped, as are single
    points (not sequences in telemanom).
    """
    starts, ends = _sequences(flags)
    if len(starts) == 0:
        return np.zeros(len(flags), dtype=bool)
    bounds = np.ravel(np.column_stack((starts, ends)))
    peaks = np.maximum.reduceat(np.append(decision, decision[:1]), bounds)[0::2]  # padded: an end may be len
    quiet = decision[~flags]
    floor = max(float(quiet.max()) if len(quiet) else 0.0, 0.0)
    order = np.argsort(-peaks, kind="stable")
    ranked = np.append(peaks[order], floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        drops = np.where(ranked[:-1] > 0, (ranked[:-1] - ranked[1:]) / ranked[:-1], 0.0)
    large = np.flatnonzero(drops >= prune)
    keep = order[: large[-1] + 1] if len(large) else order[:0]
    kept = np.zeros(len(flags) + 1, dtype=np.int64)
    np.add.at(kept, starts[keep], 1)
    np.add.at(kept, ends[keep], -1)
    return np.cumsum(kept[:-1]) > 0


def dynamic_threshold(scores: np.ndarray, options: DynamicOptions) -> float:
    """Hundman et al.'s epsilon (KDD 2018, §3.2, eq. 5-6), fitted once on label-free smoothed scores.

    For each z in [z_min, z_max) by z_step, epsilon = mean + z std of the EWMA-smoothed scores e; the points above
    epsilon, widened by ``error_buffer``, are anomalous, and z scores
    (Δmean / mean + Δstd / std) / (sequences² + anomalous points), the deltas being those of the scores below
    epsilon. The best z with at most ``max_sequences`` sequences and fewer than ``max_anomalous_fraction`` of the
    points anomalous wins (ties: the larger z); none gives z_max. Telemanom refits epsilon on each window of test
    errors; here it is fitted on validation scores only and held for the test data.

    Returns:
        A value v with flags ``e >= v`` equal to telemanom's ``e > epsilon``.
    """
    smoothed = ewma(check_scores(scores), options.span)
    mean, std = smoothed.mean(), smoothed.std()
    best_z, best_score = options.z_max, 0.0
    if std > 0 and mean != 0:
        for z in np.arange(options.z_min, options.z_max, options.z_step):  # ~19 candidates, each vectorised
            epsilon = mean + z * std
            anomalous = widen(smoothed > epsilon, options.error_buffer)
            n_anomalous = int(anomalous.sum())
            if n_anomalous == 0:
                continue
            below = smoothed[smoothed < epsilon]
            n_sequences = len(_sequences(anomalous)[0])
            score = ((mean - below.mean()) / mean + (std - below.std()) / std) / (n_sequences**2 + n_anomalous)
            if score >= best_score and n_sequences <= options.max_sequences and \
                    n_anomalous < len(smoothed) * options.max_anomalous_fraction:
                best_z, best_score = float(z), score
    return float(np.nextafter(mean + best_z * std, np.inf))
