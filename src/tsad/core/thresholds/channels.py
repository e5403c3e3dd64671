"""Per-channel thresholds: any strategy fitted on each channel's own scores (a detector's per-channel scores, e.g. the
Transformer predictor's squared z-scores), each channel flagged by its own threshold (persistence included), and the
channel flags combined by a rule: ``any`` (a point is anomalous when any channel flags it: the seed's OR over
features, methods.md §3.4) or ``k_of_f`` (when at least k of the F channels flag it together).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tsad.core.thresholds.base import FittedThreshold, Flagging, ThresholdError
from tsad.core.thresholds.fitting import apply, fit

COMBINE_RULES = ("any", "k_of_f")


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



def fit_channels(scores: np.ndarray, strategy: str, options: Mapping[str, Any] | None = None, *,
                 channels: list[str] | tuple[str, ...] | None = None, combine: str = "any",
                 k: int | None = None) -> ChannelThreshold:
    """Fit the named strategy on each channel's scores separately (label-free training or validation scores).

    Args:
        scores: Per-channel scores, shape (T, F), finite.
        strategy: A registered strategy, used for every channel.
        options: The strategy's options and ``persistence``, as for ``fit``.
        channels: The F channel names (default ``"0"`` ... ``"F-1"``).
        combine: ``any`` or ``k_of_f`` (see ``ChannelThreshold``).
        k: Channels that must flag together (``k_of_f`` only).

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
            fitted.append(fit(column, strategy, **dict(options or {})))
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
