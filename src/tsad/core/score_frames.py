"""Score frames (the scoring stage's output) and their thresholds, entity by entity.

A score frame holds one row per timestamp of a split: ``score`` (float64, higher = more anomalous), for detectors
that score each channel one ``score.<channel>`` column per channel (``score`` is their sum), and ``label`` when the
split is labelled; a multi-entity frame has an ``(entity, time)`` index (``tsad.core.frames``).

Channels constant in training that are kept as evidence (``cleaning.constant_evidence``), when there are any, add
``departed.<channel>`` (int8, 1 where the channel departs from its training value) and ``departed`` (how many did)
to the frame of the rows they came with (``with_departures``); ``flag_scores`` flags a row where one departed,
whatever its score.

Thresholds are fitted per entity on validation score frames into one record (``tsad.core.thresholds.to_record``):
on ``score``, or with ``per_channel: {combine: any | k_of_f, k}`` on each channel's column, the channel flags being
combined by the rule. The evaluation, the window evaluation, the reports, the registered model and the stream all
flag through ``flag_scores``, so they flag alike.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from tsad.core import thresholds
from tsad.core.frames import split_entities

CHANNEL_PREFIX = "score."  # per-channel score columns: "score.<channel>"
DEPARTED = "departed"  # evidence channels departed from their training value, per row
DEPARTED_PREFIX = "departed."  # and which: "departed.<channel>"
_RULE_KEYS = ("combine", "k")


def channel_score_columns(scores: pd.DataFrame) -> list[str]:
    """The per-channel score columns of a score frame (empty for a detector without channel scores)."""
    return [c for c in scores.columns if isinstance(c, str) and c.startswith(CHANNEL_PREFIX)]


def channel_scores(scores: pd.DataFrame, channels: list[str] | tuple[str, ...] | None = None
                   ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The per-channel scores of a score frame as a (T, F) float64 array, and the channel names.

    Args:
        scores: A score frame.
        channels: Channel names to take, in this order (default: every channel score column).

    Raises:
        ValueError: The frame has no per-channel scores, or lacks one of ``channels``.
    """
    present = tuple(c[len(CHANNEL_PREFIX):] for c in channel_score_columns(scores))
    if not present:
        raise ValueError("these scores have no per-channel columns ('score.<channel>'): per-channel thresholds need "
                         "a detector that scores each channel (transformer, lstm)")
    names = tuple(channels) if channels is not None else present
    missing = [c for c in names if c not in present]
    if missing:
        raise ValueError(f"the scores have no per-channel column for channel(s) {missing}; they have {list(present)}")
    return scores[[f"{CHANNEL_PREFIX}{c}" for c in names]].to_numpy(dtype=np.float64), names


def with_departures(scores: pd.DataFrame, departed: pd.DataFrame) -> pd.DataFrame:
    """One entity's score frame with the departures of its evidence channels (``tsad.core.preprocessing.departures``
    on the same rows): ``departed.<channel>`` per channel and their count ``departed``; unchanged without evidence
    channels (as a model without any wrote it).

    Raises:
        ValueError: The departures are not on the score frame's rows (or more).
    """
    if len(departed) > len(scores):  # rows of a stretch shorter than a window (nan_policy: drop) have no score
        index = departed.index
        if isinstance(index, pd.DatetimeIndex) and isinstance(scores.index, pd.DatetimeIndex):
            index = index.as_unit(scores.index.unit)
        departed = departed[index.isin(scores.index)]
    if len(departed) != len(scores):
        raise ValueError(f"the evidence channels' departures cover {len(departed)} rows, the scores {len(scores)} "
                         "other rows: both must come from the same rows")
    if departed.columns.empty:
        return scores
    columns = departed.set_axis([f"{DEPARTED_PREFIX}{c}" for c in departed.columns], axis=1) \
        .set_axis(scores.index).astype(np.int8)  # the scores' index exactly (a Parquet round trip may change units)
    return pd.concat([scores, columns, pd.DataFrame({DEPARTED: columns.sum(axis=1).astype(np.int16)})], axis=1)


def departed_channels(scores: pd.DataFrame) -> list[str]:
    """The evidence channels of a score frame (empty when it was scored without any)."""
    return [c[len(DEPARTED_PREFIX):] for c in scores.columns if isinstance(c, str) and c.startswith(DEPARTED_PREFIX)]


def fit_threshold(scores: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """Fit a threshold strategy on label-free score frames (validation data, no labels used), per entity.

    Args:
        scores: A validation score frame.
        options: ``strategy`` (see ``tsad.core.thresholds.STRATEGIES``), its options and ``persistence``; and
            ``per_channel`` (absent or null: one threshold on ``score``; ``{combine: any | k_of_f, k}``: one per
            channel score column, flags combined by the rule).

    Returns:
        ``{"strategy", ...options, "values": {entity: threshold}}`` (entity ``""`` for a single series), plus
        ``"state"`` for SPOT; per channel, ``"per_channel"`` and ``{channel: threshold}`` per entity.
        ``tsad.core.thresholds.from_record`` reads it back.
    """
    options = dict(options)
    if "strategy" not in options:
        raise ValueError(f"the threshold options name no strategy (one of {list(thresholds.STRATEGIES)}), got "
                         f"{sorted(options)}")
    strategy = options.pop("strategy")
    per_channel = options.pop("per_channel", None)
    if per_channel:
        rule = dict(per_channel) if isinstance(per_channel, dict) else {}
        unknown = sorted(set(rule) - set(_RULE_KEYS))
        if unknown:
            raise ValueError(f"threshold.per_channel has unknown key(s) {unknown}; use combine (any | k_of_f) and k")
        fitted_channels = {}
        for entity, part in split_entities(scores).items():
            values, names = channel_scores(part)
            fitted_channels[entity] = thresholds.fit_channels(values, strategy, options, channels=names, **rule)
        return thresholds.to_record(fitted_channels)
    fitted = {entity: thresholds.fit(part["score"].to_numpy(), strategy, **options)
              for entity, part in split_entities(scores).items()}
    return thresholds.to_record(fitted)


def flag_scores(scores: pd.DataFrame, fitted: thresholds.FittedThreshold | thresholds.ChannelThreshold
                ) -> thresholds.Flagging:
    """Flags of one entity's score frame: ``score`` against one threshold, or the channel score columns against
    per-channel thresholds (combined by their rule); and every row where an evidence channel departed (after the
    persistence and pruning rules, which do not apply to it: one departure is evidence enough)."""
    if isinstance(fitted, thresholds.ChannelThreshold):
        flagging = thresholds.apply_channels(channel_scores(scores, fitted.channels)[0], fitted)
    else:
        flagging = thresholds.apply(scores["score"].to_numpy(dtype=np.float64), fitted)
    if DEPARTED not in scores.columns:
        return flagging
    return dataclasses.replace(flagging, flags=flagging.flags | (scores[DEPARTED].to_numpy() > 0))


def entity_flagging(scores: pd.DataFrame, record: dict[str, Any], entity: str) -> thresholds.Flagging | None:
    """``flag_scores`` of one entity's score frame with its threshold in ``record``; None when it has none."""
    fitted = thresholds.entity_threshold(record, entity)
    return None if fitted is None else flag_scores(scores, fitted)
