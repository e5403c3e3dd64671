"""Named threshold strategies, fitted on label-free training or validation scores (never on test labels).

``fit(scores, strategy, **options)`` returns a ``FittedThreshold``; ``apply(scores, fitted)`` turns scores into
flags with it. A point is flagged when its *decision score* reaches the threshold (``decision >= threshold``):
the decision score is the score itself, or its EWMA for the dynamic strategy; the threshold is one number, or a
trace over time for SPOT, which keeps learning the tail from the unlabelled stream it flags.

Strategies (``strategies.py``, one registered class each; a new strategy is one more class there):
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

Per channel (``fit_channels`` / ``apply_channels``, ``channels.py``): any strategy fitted on each channel's own
scores, the channel flags combined by ``any`` or ``k_of_f``. Records (``to_record`` / ``from_record``) hold the
thresholds of every entity in one JSON-ready dict; they mark per-channel thresholds with ``per_channel``.
"""

from tsad.core.thresholds import strategies  # noqa: F401 - registers the strategies
from tsad.core.thresholds.base import (
    STRATEGIES,
    FittedThreshold,
    Flagging,
    Strategy,
    ThresholdError,
    get_strategy,
    persistence_of,
    strategy,
)
from tsad.core.thresholds.channels import COMBINE_RULES, ChannelThreshold, apply_channels, combine_rule, fit_channels
from tsad.core.thresholds.fitting import apply, fit, persistent, persistent_scores
from tsad.core.thresholds.parameters import check_options
from tsad.core.thresholds.records import entity_threshold, from_record, to_record

__all__ = [
    "COMBINE_RULES",
    "STRATEGIES",
    "ChannelThreshold",
    "FittedThreshold",
    "Flagging",
    "Strategy",
    "ThresholdError",
    "apply",
    "apply_channels",
    "check_options",
    "combine_rule",
    "entity_threshold",
    "fit",
    "fit_channels",
    "from_record",
    "get_strategy",
    "persistence_of",
    "persistent",
    "persistent_scores",
    "strategy",
    "to_record",
]
