"""Named threshold strategies, fitted on label-free training or validation scores (never on test labels).

``fit(scores, strategy, **options)`` returns a ``FittedThreshold``; ``apply(scores, fitted)`` turns scores into
flags with it. A point is flagged when its *decision score* reaches the threshold (``decision >= threshold``):
the decision score is the score itself, or its EWMA for the dynamic strategy; the threshold is one number, or a
trace over time for SPOT, which keeps learning the tail from the unlabelled stream it flags.

Strategies:
- ``quantile``: the q-quantile of the fitting scores.
- ``k_sigma``: mean + k standard deviations.
- ``pot``: peaks over threshold (Siffer et al., KDD 2017, §3): a generalised Pareto distribution fitted to the
  excesses over an initial ``level`` quantile gives the score exceeded with probability ``q`` (eq. 1).
- ``spot``: streaming POT (Siffer et al., Alg. 1): POT calibrated on the fitting scores, then every unflagged
  score above the initial threshold becomes a new peak and updates the GPD and the threshold.
- ``distri_tail_noise_2th``: the Transformer repository's histogram-tail rule (../shared/docs/methods.md §3.6),
  without its side effects (no input mutation, no plot), with its bin offset as a parameter.
- ``dynamic``: the non-parametric dynamic threshold of Hundman et al. (KDD 2018, §3.2): EWMA-smoothed scores,
  epsilon = mean + z * std with z maximising the drop in mean and std per anomalous point and sequence, anomalous
  sequences widened by an error buffer and pruned by the relative gaps between their maxima.

Every strategy takes ``persistence: m`` (default 1): a point is flagged only when it and the m - 1 points before
it all reach the threshold. The best-F1 threshold on test labels lives in ``metrics.best_f1`` and is always
reported as "oracle".

Per channel (``fit_channels`` / ``apply_channels``): any strategy can instead be fitted on each channel's own scores
(a detector's per-channel scores, e.g. the Transformer predictor's squared z-scores), each channel flagged by its
own threshold (persistence included), and the channel flags combined by a rule: ``any`` (a point is anomalous when
any channel flags it: the seed's OR over features, methods.md §3.4) or ``k_of_f`` (when at least k of the F
channels flag it together). Records mark such thresholds with ``per_channel``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

STRATEGIES = ("quantile", "k_sigma", "pot", "spot", "distri_tail_noise_2th", "dynamic")
FLAG_OPTIONS = ("persistence",)  # options used when flagging, not when fitting
COMBINE_RULES = ("any", "k_of_f")  # how per-channel flags make one flag (``fit_channels``)


class ThresholdError(ValueError):
    """A strategy cannot produce a threshold from these scores (the message says why and what to change)."""


@dataclasses.dataclass(frozen=True)
class FittedThreshold:
    """A threshold fitted on label-free scores, with what flagging needs.

    Attributes:
        strategy: The strategy's name.
        value: The threshold on the decision score (SPOT: the threshold at the end of the fitting scores).
        options: The strategy's options as given, ``persistence`` included.
        state: What flagging needs beyond ``value`` (SPOT: the initial threshold, the peaks and the count).
    """

    strategy: str
    value: float
    options: dict[str, Any]
    state: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Flagging:
    """Flags of a score series and how they came about.

    Attributes:
        flags: Boolean flags, shape (T,).
        decision: The score compared with the threshold (the score itself, or its EWMA for ``dynamic``).
        threshold: The threshold in force at each point, shape (T,).
    """

    flags: np.ndarray
    decision: np.ndarray
    threshold: np.ndarray


@dataclasses.dataclass(frozen=True)
class ChannelThreshold:
    """One threshold per channel, fitted on that channel's scores, and the rule combining the channel flags.

    Attributes:
        channels: Channel names, in the column order of the channel scores.
        fitted: Each channel's fitted threshold (one strategy and its options for all), in the same order.
        combine: ``any`` (a point flags when any channel flags it) or ``k_of_f`` (when at least ``k`` channels do).
        k: Channels that must flag together for ``k_of_f`` (1 for ``any``).
    """

    channels: tuple[str, ...]
    fitted: tuple[FittedThreshold, ...]
    combine: str = "any"
    k: int = 1

    @property
    def strategy(self) -> str:
        return self.fitted[0].strategy

    @property
    def options(self) -> dict[str, Any]:
        """The strategy's options (``persistence`` included), the same for every channel."""
        return self.fitted[0].options

    @property
    def value(self) -> float:
        """NaN: there is no single threshold on the window score (see ``values`` for the channels' own)."""
        return math.nan

    @property
    def values(self) -> dict[str, float]:
        return {channel: fitted.value for channel, fitted in zip(self.channels, self.fitted, strict=True)}

    @property
    def required(self) -> int:
        """How many channels must flag a point together."""
        return 1 if self.combine == "any" else self.k


# --------------------------------------------------------------------------------------------------- public API
def fit(scores: np.ndarray, strategy: str, **options: Any) -> FittedThreshold:
    """Fit the named strategy on label-free scores (training or validation data).

    Args:
        scores: 1-D finite scores, higher = more anomalous.
        strategy: One of ``STRATEGIES``.
        **options: The strategy's options (see each ``*_threshold`` function) and ``persistence``.

    Raises:
        ValueError: Unknown strategy or option, empty or non-finite scores, or an option out of range.
        ThresholdError: The strategy finds no threshold in these scores (the message says what to change).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown threshold strategy {strategy!r}; available: {list(STRATEGIES)}")
    scores = _check_scores(scores)
    _persistence(options)
    fit_options = {k: v for k, v in options.items() if k not in FLAG_OPTIONS}
    _check_options(strategy, fit_options)
    state: dict[str, Any] = {}
    if strategy == "quantile":
        value = quantile_threshold(scores, **fit_options)
    elif strategy == "k_sigma":
        value = k_sigma_threshold(scores, **fit_options)
    elif strategy == "pot":
        value = pot_threshold(scores, **fit_options)
    elif strategy == "spot":
        tail = fit_pot(scores, **fit_options)
        value, state = tail.quantile, {"initial": tail.initial, "peaks": tail.peaks.tolist(), "n": tail.n}
    elif strategy == "distri_tail_noise_2th":
        value = distri_tail_noise_threshold(scores, **fit_options)
    else:
        value = dynamic_threshold(scores, **fit_options)
    return FittedThreshold(strategy, float(value), dict(options), state)


def fit_threshold(scores: np.ndarray, strategy: str, **options: Any) -> float:
    """The threshold value of ``fit(scores, strategy, **options)`` (flags: ``scores >= value``)."""
    return fit(scores, strategy, **options).value


def apply(scores: np.ndarray, fitted: FittedThreshold) -> Flagging:
    """Flag scores with a fitted threshold: strategy-specific decision scores, persistence, then post-processing."""
    scores = _check_scores(scores)
    persistence = _persistence(fitted.options)
    options = {k: v for k, v in fitted.options.items() if k not in FLAG_OPTIONS}
    decision, trace = scores, np.full(len(scores), fitted.value)
    if fitted.strategy == "spot":
        trace = spot_trace(scores, fitted.state, q=options.get("q", 1e-4), method=options.get("method", "grimshaw"))
    elif fitted.strategy == "dynamic":
        decision = ewma(scores, options.get("span", _DYNAMIC_DEFAULTS["span"]))
    flags = persistent(decision >= trace, persistence)
    if fitted.strategy == "dynamic":
        buffer = options.get("error_buffer", _DYNAMIC_DEFAULTS["error_buffer"])
        flags = prune_sequences(decision, widen(flags, buffer), options.get("prune", _DYNAMIC_DEFAULTS["prune"]))
    return Flagging(flags, decision, trace)


def combine_rule(combine: str = "any", k: int | None = None, n_channels: int | None = None) -> tuple[str, int]:
    """Check a per-channel combination rule; returns ``(combine, k)`` (``k`` = 1 for ``any``).

    Raises:
        ValueError: An unknown rule, ``k`` given with ``any``, or ``k`` not in [1, n_channels].
    """
    if combine not in COMBINE_RULES:
        raise ValueError(f"unknown per-channel combination {combine!r}; use one of {list(COMBINE_RULES)}")
    if combine == "any":
        if k not in (None, 1):
            raise ValueError(f"per-channel combine 'any' flags a point when one channel flags it; k={k} needs "
                             "combine: k_of_f")
        return combine, 1
    if k is None or int(k) != k or k < 1:
        raise ValueError(f"per-channel combine 'k_of_f' needs an integer k >= 1, got {k!r}")
    if n_channels is not None and k > n_channels:
        raise ValueError(f"per-channel combine 'k_of_f' with k={k} can never flag: there are {n_channels} channels")
    return combine, int(k)


def fit_channels(scores: np.ndarray, strategy: str, *, channels: list[str] | tuple[str, ...] | None = None,
                 combine: str = "any", k: int | None = None, **options: Any) -> ChannelThreshold:
    """Fit the named strategy on each channel's scores separately (label-free training or validation scores).

    Args:
        scores: Per-channel scores, shape (T, F), finite.
        strategy: One of ``STRATEGIES``, used for every channel.
        channels: The F channel names (default ``"0"`` ... ``"F-1"``).
        combine: ``any`` or ``k_of_f`` (see ``ChannelThreshold``).
        k: Channels that must flag together (``k_of_f`` only).
        **options: The strategy's options and ``persistence``, as for ``fit``.

    Raises:
        ValueError: Scores not 2-D, names that do not match the columns, or a bad rule or option.
        ThresholdError: The strategy finds no threshold for a channel (the message names the channel).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(f"per-channel thresholds need (T, F) channel scores, got shape {scores.shape}")
    names = tuple(str(c) for c in (channels if channels is not None else range(scores.shape[1])))
    if len(names) != scores.shape[1]:
        raise ValueError(f"{len(names)} channel names given for {scores.shape[1]} channel score columns")
    combine, k = combine_rule(combine, k, len(names))
    fitted = []
    for name, column in zip(names, scores.T, strict=True):
        try:
            fitted.append(fit(column, strategy, **options))
        except ThresholdError as error:
            raise ThresholdError(f"channel {name!r}: {error}") from error
    return ChannelThreshold(names, tuple(fitted), combine, k)


def apply_channels(scores: np.ndarray, fitted: ChannelThreshold) -> Flagging:
    """Flag (T, F) channel scores: each channel by its own threshold (``apply``), then the combination rule.

    Returns:
        The combined flags; as ``decision`` the k-th largest channel decision relative to its threshold
        (decision / threshold when every threshold is positive, decision - threshold otherwise) and as
        ``threshold`` the constant it is compared with (1 or 0), for plots: the point flags when that many
        channels are at or above their thresholds (exactly so without persistence or ``dynamic`` post-processing,
        which act on each channel's flags before they are combined).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != len(fitted.channels):
        raise ValueError(f"per-channel thresholds for {len(fitted.channels)} channels need (T, "
                         f"{len(fitted.channels)}) channel scores, got shape {scores.shape}")
    runs = [apply(column, channel) for column, channel in zip(scores.T, fitted.fitted, strict=True)]
    flags = np.sum([run.flags for run in runs], axis=0) >= fitted.required
    decisions = np.stack([run.decision for run in runs], axis=1)
    traces = np.stack([run.threshold for run in runs], axis=1)
    positive = bool(np.all(traces > 0))
    relative = decisions / traces if positive else decisions - traces
    column = relative.shape[1] - fitted.required  # the k-th largest is the (F - k)-th smallest
    decision = np.partition(relative, column, axis=1)[:, column]
    return Flagging(flags, decision, np.full(len(scores), 1.0 if positive else 0.0))


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


# --------------------------------------------------------------------------------------------------- simple rules
def quantile_threshold(scores: np.ndarray, q: float = 0.99) -> float:
    """The q-quantile of label-free scores (training or validation): about 1 - q of normal points flag."""
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    return float(np.quantile(_check_scores(scores), q))


def k_sigma_threshold(scores: np.ndarray, k: float = 3.0) -> float:
    """Mean plus k standard deviations of label-free scores."""
    scores = _check_scores(scores)
    return float(scores.mean() + k * scores.std())


# --------------------------------------------------------------------------------------------------- POT and SPOT
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


def fit_gpd(peaks: np.ndarray, method: str = "grimshaw") -> tuple[float, float]:
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
        raise ValueError(f"unknown GPD fitting method {method!r}; use 'grimshaw' or 'mle'")
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


def fit_pot(scores: np.ndarray, q: float = 1e-4, level: float = 0.98, method: str = "grimshaw",
            min_peaks: int = 10) -> Tail:
    """POT calibration (Siffer et al. §3.1): the tail of ``scores`` above their ``level`` quantile.

    Args:
        scores: Label-free scores.
        q: Risk: the probability that a normal score exceeds the threshold.
        level: Quantile of the scores taken as the initial threshold t.
        method: GPD fitting method, ``grimshaw`` or ``mle``.
        min_peaks: Fewest excesses over t accepted.

    Raises:
        ValueError: ``q`` or ``level`` out of range.
        ThresholdError: Too few peaks, or ``q`` not below the share of peaks (z_q would sit under t).
    """
    scores = _check_scores(scores)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    initial = float(np.quantile(scores, level))
    peaks = scores[scores > initial] - initial
    if len(peaks) < min_peaks:
        raise ThresholdError(f"POT found {len(peaks)} scores above the initial threshold {initial:.6g} (the {level} "
                             f"quantile of {len(scores)} scores), fewer than {min_peaks}: lower 'level' or fit on "
                             "more scores")
    if q >= len(peaks) / len(scores):
        raise ThresholdError(f"POT risk q={q} must be below the share of peaks {len(peaks) / len(scores):.4g} "
                             "(1 - level): lower q or level")
    gamma, sigma = fit_gpd(peaks, method)
    quantile = _tail_quantile(initial, gamma, sigma, q=q, n=len(scores), n_peaks=len(peaks))
    return Tail(initial, peaks, len(scores), gamma, sigma, quantile)


def pot_threshold(scores: np.ndarray, q: float = 1e-4, level: float = 0.98, method: str = "grimshaw",
                  min_peaks: int = 10) -> float:
    """The POT threshold z_q of label-free scores (see ``fit_pot``)."""
    return fit_pot(scores, q, level, method, min_peaks).quantile


def spot_trace(stream: np.ndarray, state: dict[str, Any], q: float = 1e-4, method: str = "grimshaw") -> np.ndarray:
    """SPOT's threshold at each point of an unlabelled stream (Siffer et al. Alg. 1, without drift).

    A score at or above the current z_q is an alarm and leaves the model alone; a score between the initial
    threshold t and z_q is a new peak: the GPD is refitted and z_q updated; any other score only counts. Only the
    scores above t change anything, so the loop runs over those alone and the trace is filled by slices.

    Args:
        stream: Scores in time order.
        state: ``{"initial", "peaks", "n"}`` from the calibration (``fit(..., "spot").state``).
        q: Risk, as at calibration.
        method: GPD fitting method.
    """
    stream = _check_scores(stream)
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


# --------------------------------------------------------------------------------------------------- DistriTailNoise2Th
def distri_tail_noise_threshold(scores: np.ndarray, *, dif_th: float = -5.0, avg_num: int = 5,
                                mean_mul_coefficient: float = 100.0, bin_num: int = 60, follow_num: int = 4,
                                bin_offset: str = "aligned", on_failure: str = "error") -> float | np.ndarray:
    """DistriTailNoise2Th (methods.md §3.6): the threshold where a bump starts in the score histogram's tail.

    Scores are clipped at ``mean_mul_coefficient`` times their mean (on a copy); their histogram has ``bin_num``
    bins; the first bin is dropped; the differences of consecutive counts are averaged over ``avg_num`` bins; the
    first average above ``dif_th`` whose next ``follow_num - 1`` averages are all at least ``dif_th`` marks the rise.
    The repository's names: difTh, avgNum, meanMulCoefficient, binNum, followNum.

    Args:
        scores: Scores (T,), or (T, F) for one threshold per column (the repository's per-feature use).
        dif_th: Smallest smoothed count difference that counts as the tail no longer falling.
        avg_num: Bins in the moving average of the differences.
        mean_mul_coefficient: Clip scores at this multiple of their mean.
        bin_num: Histogram bins.
        follow_num: Averages that must stay at or above ``dif_th``, the first included.
        bin_offset: ``original`` reproduces the repository, whose threshold is the upper edge of the first bin
            of the averaged window, ``avg_num`` bins left of the bin whose count made the average rise;
            ``aligned`` takes the lower edge of that bin.
        on_failure: ``error`` raises ThresholdError when no rise is found; ``max`` falls back to the largest
            (clipped) score, so that nothing of the fitting data is flagged.

    Returns:
        A value v with flags ``scores >= v`` equal to the repository's ``scores > th``; one per column for 2-D input.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 2:
        options = {"dif_th": dif_th, "avg_num": avg_num, "mean_mul_coefficient": mean_mul_coefficient,
                   "bin_num": bin_num, "follow_num": follow_num, "bin_offset": bin_offset, "on_failure": on_failure}
        return np.array([distri_tail_noise_threshold(column, **options) for column in scores.T])
    scores = _check_scores(scores)
    if bin_offset not in ("original", "aligned"):
        raise ValueError(f"bin_offset must be 'original' or 'aligned', got {bin_offset!r}")
    if on_failure not in ("error", "max"):
        raise ValueError(f"on_failure must be 'error' or 'max', got {on_failure!r}")
    if avg_num < 1 or follow_num < 1 or bin_num < avg_num + 3:
        raise ValueError(f"need avg_num >= 1, follow_num >= 1 and bin_num >= avg_num + 3, got {avg_num}, "
                         f"{follow_num}, {bin_num}")
    clipped = np.minimum(scores, scores.mean() * mean_mul_coefficient)
    counts, edges = np.histogram(clipped, bins=bin_num)
    differences = np.diff(counts[1:].astype(np.float64))
    averaged = np.lib.stride_tricks.sliding_window_view(differences, avg_num).mean(axis=1)
    holds = np.concatenate((averaged >= dif_th, np.ones(follow_num - 1, dtype=bool)))
    sustained = np.lib.stride_tricks.sliding_window_view(holds, follow_num).all(axis=1)
    rises = np.flatnonzero((averaged > dif_th) & sustained)
    if len(rises) == 0:
        if on_failure == "max":
            return float(np.nextafter(clipped.max(), np.inf))
        raise ThresholdError(
            f"DistriTailNoise2Th found no rise in the tail of the histogram of {len(scores)} scores "
            f"(range {clipped.min():.6g} to {clipped.max():.6g}, {bin_num} bins): no moving average of {avg_num} "
            f"count differences exceeds dif_th={dif_th} for {follow_num} bins; raise dif_th, change bin_num, or set "
            "on_failure: max")
    first = int(rises[0])
    # averaged[i] spans the differences i .. i + avg_num - 1 of counts[1:], i.e. counts[i + 1 .. i + avg_num + 1].
    edge = first + 1 if bin_offset == "original" else min(first + avg_num + 1, bin_num)
    return float(np.nextafter(edges[edge], np.inf))


# --------------------------------------------------------------------------------------------------- Hundman et al.
_DYNAMIC_DEFAULTS = {"span": 105, "error_buffer": 100, "prune": 0.13}  # telemanom: 70 * 30 * 0.05, 100, p = 0.13


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


def dynamic_threshold(scores: np.ndarray, *, span: float = 105, z_min: float = 2.5, z_max: float = 12.0,
                      z_step: float = 0.5, error_buffer: int = 100, max_sequences: int = 5,
                      max_anomalous_fraction: float = 0.5, prune: float = 0.13) -> float:
    """Hundman et al.'s epsilon (KDD 2018, §3.2, eq. 5-6), fitted once on label-free smoothed scores.

    For each z in [z_min, z_max) by z_step, epsilon = mean + z std of the EWMA-smoothed scores e; the points above
    epsilon, widened by ``error_buffer``, are anomalous, and z scores
    (Δmean / mean + Δstd / std) / (sequences² + anomalous points), the deltas being those of the scores below
    epsilon. The best z with at most ``max_sequences`` sequences and fewer than ``max_anomalous_fraction`` of the
    points anomalous wins (ties: the larger z); none gives z_max. Telemanom refits epsilon on each window of test
    errors; here it is fitted on validation scores only and held for the test data.

    Returns:
        A value v with flags ``e >= v`` equal to telemanom's ``e > epsilon``. ``prune`` is used when flagging.
    """
    smoothed = ewma(_check_scores(scores), span)
    if not 0 <= prune < 1:
        raise ValueError(f"prune must be in [0, 1), got {prune}")
    mean, std = smoothed.mean(), smoothed.std()
    best_z, best_score = z_max, 0.0
    if std > 0 and mean != 0:
        for z in np.arange(z_min, z_max, z_step):  # ~19 candidate thresholds, each vectorised over the scores
            epsilon = mean + z * std
            anomalous = widen(smoothed > epsilon, error_buffer)
            n_anomalous = int(anomalous.sum())
            if n_anomalous == 0:
                continue
            below = smoothed[smoothed < epsilon]
            n_sequences = len(_sequences(anomalous)[0])
            score = ((mean - below.mean()) / mean + (std - below.std()) / std) / (n_sequences**2 + n_anomalous)
            if score >= best_score and n_sequences <= max_sequences and \
                    n_anomalous < len(smoothed) * max_anomalous_fraction:
                best_z, best_score = float(z), score
    return float(np.nextafter(mean + best_z * std, np.inf))


# --------------------------------------------------------------------------------------------------- checks
_OPTIONS = {
    "quantile": ("q",),
    "k_sigma": ("k",),
    "pot": ("q", "level", "method", "min_peaks"),
    "spot": ("q", "level", "method", "min_peaks"),
    "distri_tail_noise_2th": ("dif_th", "avg_num", "mean_mul_coefficient", "bin_num", "follow_num", "bin_offset",
                              "on_failure"),
    "dynamic": ("span", "z_min", "z_max", "z_step", "error_buffer", "max_sequences", "max_anomalous_fraction",
                "prune"),
}


def _check_options(strategy: str, options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(_OPTIONS[strategy]))
    if unknown:
        raise ValueError(f"threshold strategy {strategy!r} has no option(s) {unknown}; its options: "
                         f"{list(_OPTIONS[strategy]) + list(FLAG_OPTIONS)}")


def _persistence(options: dict[str, Any]) -> int:
    value = options.get("persistence", 1)
    if int(value) != value or value < 1:
        raise ValueError(f"persistence must be an integer >= 1, got {value!r}")
    return int(value)


def _check_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or len(scores) == 0:
        raise ValueError(f"the threshold needs a non-empty 1-D array of finite scores, got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"the threshold needs a non-empty array of finite scores; row "
                         f"{int(np.flatnonzero(~np.isfinite(scores))[0])} is {scores[~np.isfinite(scores)][0]}")
    return scores


# --------------------------------------------------------------------------------------------------- records
def to_record(fitted: dict[str, FittedThreshold] | dict[str, ChannelThreshold]) -> dict[str, Any]:
    """One JSON-ready record for the thresholds of every entity (one strategy and its options).

    ``{"strategy", **options, "values": {entity: value}}`` and, for SPOT, ``"state": {entity: state}``; the
    entity of a single series is ``""``. Flag with ``apply(scores, from_record(record, entity))``.
    Per-channel thresholds add ``"per_channel": {"combine", "k"}`` and hold ``{channel: value}`` (and
    ``{channel: state}``) per entity; flag with ``apply_channels``.
    """
    first = next(iter(fitted.values()))
    if isinstance(first, ChannelThreshold):
        record = {"strategy": first.strategy, **first.options, "per_channel": {"combine": first.combine, "k": first.k},
                  "values": {entity: f.values for entity, f in fitted.items()}}
        if any(c.state for f in fitted.values() for c in f.fitted):
            record["state"] = {entity: {name: c.state for name, c in zip(f.channels, f.fitted, strict=True)}
                               for entity, f in fitted.items()}
        return record
    record: dict[str, Any] = {"strategy": first.strategy, **first.options,
                              "values": {entity: f.value for entity, f in fitted.items()}}
    if any(f.state for f in fitted.values()):
        record["state"] = {entity: f.state for entity, f in fitted.items()}
    return record


def from_record(record: dict[str, Any], entity: str) -> FittedThreshold | ChannelThreshold:
    """The fitted threshold of one entity from a ``to_record`` record (a ``ChannelThreshold`` when per channel)."""
    if entity not in record["values"]:
        raise KeyError(f"the threshold record has no entity {entity!r}; it has {sorted(record['values'])}")
    if record.get("per_channel"):
        options = {k: v for k, v in record.items() if k not in ("strategy", "values", "state", "per_channel")}
        values, states = record["values"][entity], record.get("state", {}).get(entity, {})
        combine, k = combine_rule(record["per_channel"].get("combine", "any"), record["per_channel"].get("k"))
        return ChannelThreshold(tuple(values), tuple(FittedThreshold(record["strategy"], float(v), options,
                                                                     dict(states.get(name, {})))
                                                     for name, v in values.items()), combine, k)
    options = {k: v for k, v in record.items() if k not in ("strategy", "values", "state")}
    return FittedThreshold(record["strategy"], float(record["values"][entity]), options,
                           dict(record.get("state", {}).get(entity, {})))
