"""Peaks over threshold (Siffer et al., KDD 2017): a generalised Pareto distribution (GPD) fitted to the excesses
over an initial ``level`` quantile gives the score exceeded with probability ``q`` (eq. 1); SPOT (Alg. 1) keeps
refitting it on the unlabelled stream it flags. The ``pot`` and ``spot`` strategies (``strategies.py``) use these.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import optimize, stats

from tsad.core.thresholds.base import ThresholdError, check_scores

GPD_METHODS = ("grimshaw", "mle")


@dataclasses.dataclass(frozen=True)
class PotOptions:
    """Options of POT and SPOT.

    Attributes:
        q: Risk: the probability that a normal score exceeds the threshold.
        level: Quantile of the scores taken as the initial threshold t.
        method: GPD fitting method, ``grimshaw`` or ``mle`` (``fit_gpd``).
        min_peaks: Fewest excesses over t accepted.
    """

    q: float = 1e-4
    level: float = 0.98
    method: str = "grimshaw"
    min_peaks: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if not 0 < self.q < 1:
            raise ValueError(f"q must be in (0, 1), got {self.q}")
        if self.method not in GPD_METHODS:
            raise ValueError(f"unknown GPD fitting method {self.method!r}; use one of {list(GPD_METHODS)}")


@dataclasses.dataclass(frozen=True)
class Tail:
    """A GPD fitted to the peaks over an initial threshold (Siffer et al. §3.1).

    Attributes:
        initial: The initial threshold t (the ``level`` quantile).
        peaks: Excesses X - t of the scores above t.
        n: Number of observations the tail describes.
        gamma: GPD shape.
        sigma: GPD scale.
        quantile: z_q, the score exceeded with probability q (eq. 1).
    """

    initial: float
    peaks: np.ndarray
    n: int
    gamma: float
    sigma: float
    quantile: float


def gpd_log_likelihood(peaks: np.ndarray, gamma: float, sigma: float) -> float:
    """Log-likelihood of excesses under GPD(gamma, sigma); -inf outside the support."""
    peaks = np.asarray(peaks, dtype=np.float64)
    if sigma <= 0:
        return -math.inf
    if gamma == 0:
        return float(-len(peaks) * math.log(sigma) - peaks.sum() / sigma)
    z = 1 + gamma * peaks / sigma
    if np.any(z <= 0):
        return -math.inf
    return float(-len(peaks) * math.log(sigma) - (1 + 1 / gamma) * np.log(z).sum())


def _grimshaw_w(peaks: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Grimshaw's w(x) = u(x) v(x) - 1, u = mean 1/(1 + xY), v = 1 + mean log(1 + xY), for every x at once."""
    s = 1 + np.outer(x, peaks)
    return np.mean(1 / s, axis=1) * (1 + np.mean(np.log(s), axis=1)) - 1


def fit_gpd(peaks: np.ndarray, method: str) -> tuple[float, float]:
    """Fit a GPD to positive excesses by maximum likelihood.

    ``grimshaw`` (Siffer et al. §3.2, after Grimshaw 1993): the likelihood's stationary points are the roots of
    w(x) = u(x) v(x) - 1 with x = gamma / sigma, which lie in (-1 / Y_max, 0) and (0, 2 (mean - Y_min) / Y_min^2);
    each root gives gamma = v(x) - 1 and sigma = gamma / x; the exponential case (gamma = 0, sigma = mean), the
    method-of-moments estimate (as libspot does) and the uniform tail (gamma = -1, sigma = max) are candidates too.
    Roots are bracketed on a log-spaced grid (vectorised) and refined with Brent's method; the candidate of highest
    likelihood wins. ``mle``: SciPy's numerical maximum likelihood (``genpareto.fit``, loc 0).

    Returns:
        ``(gamma, sigma)``.
    """
    peaks = np.asarray(peaks, dtype=np.float64)
    if len(peaks) < 2 or np.any(peaks <= 0):
        raise ValueError(f"the GPD needs at least 2 positive excesses, got {len(peaks)}")
    if method == "mle":
        gamma, _, sigma = stats.genpareto.fit(peaks, floc=0)
        return float(gamma), float(sigma)
    if method != "grimshaw":
        raise ValueError(f"unknown GPD fitting method {method!r}; use one of {list(GPD_METHODS)}")
    mean, low, high = peaks.mean(), peaks.min(), peaks.max()
    # The exponential case, the method-of-moments estimate and the uniform tail (gamma = -1, end point just past the
    # largest excess) are candidates too: for bounded tails (gamma <= -1, e.g. uniform scores) the likelihood has
    # no stationary point, and Grimshaw's roots miss it.
    ratio = mean**2 / peaks.var() if peaks.var() > 0 else 1.0
    candidates = [(0.0, float(mean)), (0.5 * (1 - ratio), 0.5 * mean * (ratio + 1)), (-1.0, float(high) * (1 + 1e-9))]
    fractions = np.geomspace(1e-8, 0.5, 40)
    left = -np.concatenate((fractions, 1 - fractions[::-1])) / high  # inside (-1 / Y_max, 0)
    right_max = 2 * (mean - low) / low**2
    right = np.geomspace(1e-8 / mean, max(right_max, 2e-8 / mean), 80)
    for grid in (left, right):
        values = _grimshaw_w(peaks, grid)
        change = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
        for i in change:
            root = optimize.brentq(lambda x: float(_grimshaw_w(peaks, np.array([x]))[0]), grid[i], grid[i + 1])
            gamma = float(np.mean(np.log1p(root * peaks)))
            if gamma != 0:
                candidates.append((gamma, gamma / root))
    likelihoods = [gpd_log_likelihood(peaks, g, s) for g, s in candidates]
    return candidates[int(np.argmax(likelihoods))]


def _tail_quantile(initial: float, gamma: float, sigma: float, *, q: float, n: int, n_peaks: int) -> float:
    """z_q = t + sigma / gamma ((q n / N_t)^(-gamma) - 1), or t - sigma log(q n / N_t) when gamma = 0 (eq. 1)."""
    ratio = q * n / n_peaks
    if gamma == 0:
        return float(initial - sigma * math.log(ratio))
    return float(initial + sigma / gamma * (ratio ** (-gamma) - 1))


def fit_pot(scores: np.ndarray, options: PotOptions) -> Tail:
    """POT calibration (Siffer et al. §3.1): the tail of label-free ``scores`` above their ``level`` quantile.

    Raises:
        ThresholdError: Too few peaks, or ``q`` not below the share of peaks (z_q would sit under t).
    """
    scores = check_scores(scores)
    q, level, min_peaks = options.q, options.level, options.min_peaks
    initial = float(np.quantile(scores, level))
    peaks = scores[scores > initial] - initial
    if len(peaks) < min_peaks:
        raise ThresholdError(f"POT found {len(peaks)} scores above the initial threshold {initial:.6g} (the {level} "
                             f"quantile of {len(scores)} scores), fewer than {min_peaks}: lower 'level' or fit on "
                             "more scores")
    if q >= len(peaks) / len(scores):
        raise ThresholdError(f"POT risk q={q} must be below the share of peaks {len(peaks) / len(scores):.4g} "
                             "(1 - level): lower q or level")
    gamma, sigma = fit_gpd(peaks, options.method)
    quantile = _tail_quantile(initial, gamma, sigma, q=q, n=len(scores), n_peaks=len(peaks))
    return Tail(initial, peaks, len(scores), gamma, sigma, quantile)


def spot_trace(stream: np.ndarray, state: dict[str, Any], options: PotOptions) -> np.ndarray:
    """SPOT's threshold at each point of an unlabelled stream (Siffer et al. Alg. 1, without drift).

    A score at or above the current z_q is an alarm and leaves the model alone; a score between the initial
    threshold t and z_q is a new peak: the GPD is refitted and z_q updated; any other score only counts. Only the
    scores above t change anything, so the loop runs over those alone and the trace is filled by slices.

    Args:
        stream: Scores in time order.
        state: ``{"initial", "peaks", "n"}`` from the calibration (``fit(..., "spot").state``).
        options: The options of the calibration.
    """
    stream = check_scores(stream)
    q, method = options.q, options.method
    initial, n0 = float(state["initial"]), int(state["n"])
    peaks = list(map(float, state["peaks"]))
    gamma, sigma = fit_gpd(np.asarray(peaks), method)
    z = _tail_quantile(initial, gamma, sigma, q=q, n=n0, n_peaks=len(peaks))
    trace = np.empty(len(stream))
    done, alarms = 0, 0
    for index in np.flatnonzero(stream > initial):
        trace[done:index + 1] = z
        done = index + 1
        if stream[index] >= z:
            alarms += 1
            continue
        peaks.append(float(stream[index] - initial))
        gamma, sigma = fit_gpd(np.asarray(peaks), method)
        z = _tail_quantile(initial, gamma, sigma, q=q, n=n0 + index + 1 - alarms, n_peaks=len(peaks))
    trace[done:] = z
    return trace

