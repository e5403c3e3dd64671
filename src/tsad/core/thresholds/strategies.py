"""The threshold strategies, one registered class each (the ``threshold.strategy`` names).

A new strategy is one more class here::

    @strategy("median_mad")
    class MedianMad(Strategy):
        \"\"\"The median plus k median absolute deviations.\"\"\"

        @dataclasses.dataclass(frozen=True)
        class Options:
            k: float = 5.0

        def fit(self, scores, options):
            median = np.median(scores)
            return float(median + options.k * np.median(np.abs(scores - median))), {}

``fit``, ``apply``, the per-channel thresholds, the records and the ``threshold`` parameters then know it; a strategy
that flags otherwise than ``score >= threshold`` overrides ``decision``, ``trace`` or ``refine`` (``Spot``,
``Dynamic``). Long algorithms live in a module of their own (``pot``, ``dynamic``, ``distri_tail``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tsad.core.thresholds.base import FittedThreshold, Strategy, strategy
from tsad.core.thresholds.distri_tail import DistriTailNoiseOptions, distri_tail_noise_threshold
from tsad.core.thresholds.dynamic import DynamicOptions, dynamic_threshold, ewma, prune_sequences, widen
from tsad.core.thresholds.pot import PotOptions, fit_pot, spot_trace


@strategy("quantile")
class Quantile(Strategy):
    """The q-quantile of the fitting scores: about 1 - q of normal points flag."""

    @dataclasses.dataclass(frozen=True)
    class Options:
        q: float  # no default here: conf/base/parameters/defaults.yml holds the one users see

        def __post_init__(self) -> None:
            if not 0 < self.q < 1:
                raise ValueError(f"q must be in (0, 1), got {self.q}")

    def fit(self, scores: np.ndarray, options: Options) -> tuple[float, dict[str, Any]]:
        return float(np.quantile(scores, options.q)), {}


@strategy("k_sigma")
class KSigma(Strategy):
    """Mean plus k standard deviations of the fitting scores."""

    @dataclasses.dataclass(frozen=True)
    class Options:
        k: float = 3.0

    def fit(self, scores: np.ndarray, options: Options) -> tuple[float, dict[str, Any]]:
        return float(scores.mean() + options.k * scores.std()), {}


@strategy("pot")
class Pot(Strategy):
    """Peaks over threshold (Siffer et al., KDD 2017, §3): the score exceeded with probability q under the GPD
    fitted to the excesses over the ``level`` quantile."""

    Options = PotOptions

    def fit(self, scores: np.ndarray, options: PotOptions) -> tuple[float, dict[str, Any]]:
        return fit_pot(scores, options).quantile, {}


@strategy("spot")
class Spot(Strategy):
    """Streaming POT (Siffer et al., Alg. 1): POT calibrated on the fitting scores, then every unflagged score above
    the initial threshold becomes a new peak and moves the threshold."""

    Options = PotOptions

    def fit(self, scores: np.ndarray, options: PotOptions) -> tuple[float, dict[str, Any]]:
        tail = fit_pot(scores, options)
        return tail.quantile, {"initial": tail.initial, "peaks": tail.peaks.tolist(), "n": tail.n}

    def trace(self, decision: np.ndarray, fitted: FittedThreshold, options: PotOptions) -> np.ndarray:
        return spot_trace(decision, fitted.state, options)


@strategy("distri_tail_noise_2th")
class DistriTailNoise(Strategy):
    """The Transformer repository's DistriTailNoise2Th: where a bump starts in the tail of the score histogram."""

    Options = DistriTailNoiseOptions

    def fit(self, scores: np.ndarray, options: DistriTailNoiseOptions) -> tuple[float, dict[str, Any]]:
        return distri_tail_noise_threshold(scores, options), {}


@strategy("dynamic")
class Dynamic(Strategy):
    """Hundman et al.'s dynamic threshold (KDD 2018): epsilon on EWMA-smoothed scores, fitted once; flagged
    sequences widened by the error buffer and pruned."""

    Options = DynamicOptions

    def fit(self, scores: np.ndarray, options: DynamicOptions) -> tuple[float, dict[str, Any]]:
        return dynamic_threshold(scores, options), {}

    def decision(self, scores: np.ndarray, options: DynamicOptions) -> np.ndarray:
        return ewma(scores, options.span)

    def refine(self, decision: np.ndarray, flags: np.ndarray, options: DynamicOptions) -> np.ndarray:
        return prune_sequences(decision, widen(flags, options.error_buffer), options.prune)


@strategy("band")
class Band(Strategy):
    """MGAN's band rule (../shared/docs/methods.md §2.5): a point is anomalous iff ε1 < score < ε2, with ε1 the
    ``q``-quantile and ε2 the ``upper_q``-quantile of the fitting scores (the public code's hand-set bands, such as
    (0.84, 2.05), look tuned on the test set); optionally its pruning of isolated single positives.

    ``upper_q: null`` leaves the band open above (then ``band`` is ``quantile`` with a strict inequality); a band
    closed above keeps the highest scores unflagged, as the public code does. ``prune_single`` clears every flag
    whose neighbours are both unflagged (the public code's ``prune_single_positive``; the first and last points are
    kept), after ``persistence``.
    """

    @dataclasses.dataclass(frozen=True)
    class Options:
        q: float  # ε1; no default here: conf/base/parameters/defaults.yml holds the one users see
        upper_q: float | None = None  # ε2
        prune_single: bool = False

        def __post_init__(self) -> None:
            if not 0 <= self.q < 1:
                raise ValueError(f"band: q must be in [0, 1), got {self.q}")
            if self.upper_q is not None and not self.q < self.upper_q <= 1:
                raise ValueError(f"band: upper_q must be in (q, 1] = ({self.q}, 1] or null, got {self.upper_q}")

    def fit(self, scores: np.ndarray, options: Options) -> tuple[float, dict[str, Any]]:
        lower = float(np.quantile(scores, options.q))
        # ε2 in the state; None (open above) keeps the record plain JSON
        return lower, {"upper": None if options.upper_q is None else float(np.quantile(scores, options.upper_q))}

    def trace(self, decision: np.ndarray, fitted: FittedThreshold, options: Options) -> np.ndarray:
        # flagging is decision >= trace: the next float above ε1 makes it ε1 < score, and +inf outside score < ε2
        lower = np.nextafter(fitted.value, np.inf)
        upper = fitted.state.get("upper")
        return np.where(decision < (np.inf if upper is None else upper), lower, np.inf)

    def refine(self, decision: np.ndarray, flags: np.ndarray, options: Options) -> np.ndarray:
        if not options.prune_single or len(flags) < 3:
            return flags
        single = flags[1:-1] & ~flags[:-2] & ~flags[2:]
        out = flags.copy()
        out[1:-1] &= ~single
        return out
