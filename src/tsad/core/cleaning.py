"""Cleaning steps on typed frames: non-finite values, constant channels, and the GDN recipe."""

from __future__ import annotations

import fnmatch
import logging
from typing import Any

import numpy as np
import pandas as pd

from tsad.core.errors import DataFormatError, first_bad_row
from tsad.core.frames import GAP, LABEL, channel_columns, source_of

logger = logging.getLogger(__name__)


def non_finite_counts(frame: pd.DataFrame) -> pd.Series:
    """Number of NaN or infinite values per channel."""
    values = frame[channel_columns(frame)]
    return pd.Series((~np.isfinite(values.to_numpy())).sum(axis=0), index=values.columns)  # in the frame's dtype


NAN_POLICIES = ("error", "fill", "drop")


def apply_nan_policy(frame: pd.DataFrame, name: str, policy: str = "error",
                     max_fill_fraction: float = 0.01) -> tuple[pd.DataFrame, dict[str, int]]:
    """The NaN/inf policy: ``drop_non_finite`` for ``"drop"``, else ``fill_non_finite`` (``"error"``, ``"fill"``).

    Returns:
        A new frame and what was done: filled values per channel, or ``{"rows", "stretches"}`` dropped (empty when
        nothing was).
    """
    if policy == "drop":
        return drop_non_finite(frame, name)
    return fill_non_finite(frame, name, policy, max_fill_fraction)


def describe_nan_treatment(name: str, policy: str, counts: dict[str, int]) -> str:
    """What the policy did to a frame, in words (the log line and the cleaning report's note)."""
    if policy == "drop":
        return (f"{name}: dropped {counts['rows']} rows with a non-finite value in {counts['stretches']} "
                "stretch(es) (cleaning.nan_policy: drop); no window spans a dropped stretch")
    return (f"{name}: filled {sum(counts.values())} non-finite values by carrying values forward "
            f"(cleaning.nan_policy: fill): {counts}")


def drop_non_finite(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop the rows with a NaN or infinite channel value, and mark the row after each dropped stretch.

    Returns:
        A new frame with a ``gap_before`` column (``tsad.core.frames.GAP``: 1 on the first row after dropped rows,
        which windows never span; a gap already marked stays) and ``{"rows", "stretches"}`` dropped (empty when
        none).

    Raises:
        DataFormatError: Every row has a non-finite value.
    """
    bad = ~np.isfinite(frame[channel_columns(frame)].to_numpy()).all(axis=1)
    kept = np.flatnonzero(~bad)
    if not len(kept):
        raise DataFormatError(f"{source_of(frame, name)}: every row has a non-finite value; "
                              "cleaning.nan_policy: drop leaves no rows")
    gap = np.diff(kept, prepend=kept[0]) > 1
    if GAP in frame.columns:
        gap |= frame[GAP].to_numpy()[kept] > 0
    out = frame.iloc[kept].copy()
    out[GAP] = gap.astype(np.int8)
    if not bad.any():
        return out, {}
    counts = {"rows": int(bad.sum()), "stretches": int(np.count_nonzero(np.diff(bad.astype(np.int8), prepend=0) == 1))}
    logger.info("%s", describe_nan_treatment(name, "drop", counts))
    return out, counts


def fill_non_finite(frame: pd.DataFrame, name: str, policy: str = "error",
                    max_fill_fraction: float = 0.01) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply the NaN/inf policy.

    Args:
        frame: A typed frame.
        name: What to call it in errors and logs.
        policy: ``"error"`` stops at the first non-finite value; ``"fill"`` carries the last finite value
            forward (the first rows take the next finite value) and logs how many were filled.
        max_fill_fraction: With ``"fill"``, the largest share of a channel that may be filled.

    Returns:
        A new frame and the number of filled values per channel (only channels with any).

    Raises:
        DataFormatError: A non-finite value under ``"error"``, or more than the allowed share under
            ``"fill"``, naming the column and the first row.
    """
    source = source_of(frame, name)
    counts = non_finite_counts(frame)
    dirty = counts[counts > 0]
    if dirty.empty:
        return frame.copy(), {}
    column = dirty.index[0]
    row = first_bad_row(~np.isfinite(frame[column].to_numpy(dtype=np.float64)))
    where = f"{source}: column {column!r}, row {row} ({frame.index[row]!r})"
    if policy == "error":
        raise DataFormatError(f"{where}: value {frame[column].iloc[row]} is not finite "
                              f"({int(dirty.sum())} non-finite values in {len(dirty)} columns); set "
                              "cleaning.nan_policy to 'fill' to carry values forward, or to 'drop' to drop those rows")
    if policy != "fill":
        raise ValueError(f"unknown nan_policy {policy!r}; use one of {list(NAN_POLICIES)}")
    worst = dirty.idxmax()
    if dirty[worst] > max_fill_fraction * len(frame):
        raise DataFormatError(f"{source}: column {worst!r} has {dirty[worst]} of {len(frame)} values non-finite, "
                              f"more than cleaning.max_fill_fraction ({max_fill_fraction}) allows; raise "
                              "cleaning.max_fill_fraction, or set cleaning.nan_policy: drop to drop those rows "
                              "(windows then never span them)")
    channels = list(dirty.index)
    filled = frame.copy()
    filled[channels] = filled[channels].replace([np.inf, -np.inf], np.nan).ffill().bfill()
    counts_filled = {c: int(n) for c, n in dirty.items()}
    logger.info("%s", describe_nan_treatment(source, "fill", counts_filled))
    return filled, counts_filled


def constant_channels(frame: pd.DataFrame) -> list[str]:
    """Channels that never change (they carry no information and break PCA-style scalings)."""
    values = frame[channel_columns(frame)]
    return [c for c in values.columns if values[c].nunique(dropna=False) <= 1]


DISCRETE = "discrete"  # cleaning.constant_evidence: the channels constant at a whole number (a state code)


def evidence_channels(constant_values: dict[str, Any], rule: str | list[str]) -> list[str]:
    """The channels constant in training kept as evidence (``cleaning.constant_evidence``): a departure from their
    training value in new rows flags the row.

    Args:
        constant_values: ``{channel: value}``, or ``{channel: {entity: value}}`` where entities differ.
        rule: ``"discrete"``: the channels constant at a whole number in every entity (actuator and status
            codes: 0 off, 1 closed, 2 open), not an analog reading frozen at some decimal; or shell patterns on
            channel names (``["MV*", "P[0-9]*"]``, case-sensitive); ``[]``: none.
    """
    if rule == DISCRETE:
        return [c for c, value in constant_values.items()
                if all(float(v).is_integer() for v in (value.values() if isinstance(value, dict) else [value]))]
    if isinstance(rule, str):
        raise ValueError(f"cleaning.constant_evidence must be {DISCRETE!r} or a list of shell patterns on channel "
                         f"names, got {rule!r}")
    return [c for c in constant_values if any(fnmatch.fnmatchcase(c, pattern) for pattern in rule)]


def downsample_median(frame: pd.DataFrame, factor: int) -> pd.DataFrame:
    """Median of each block of ``factor`` rows for channels, max for the label (GDN, methods.md §6.4).

    The block takes the index of its first row; a trailing partial block is dropped.
    """
    if factor == 1:
        return frame.copy()
    blocks = len(frame) // factor
    if blocks == 0:
        raise DataFormatError(f"{source_of(frame, 'frame')}: {len(frame)} rows cannot be downsampled by {factor}")
    channels = channel_columns(frame)
    values = frame[channels].to_numpy()[: blocks * factor].reshape(blocks, factor, len(channels))
    out = pd.DataFrame(np.median(values, axis=1).astype(np.float32), columns=channels,
                       index=frame.index[: blocks * factor : factor])
    for column in (LABEL, GAP):  # a block holding an anomaly is anomalous; one holding a gap starts a stretch
        if column in frame.columns:
            out[column] = frame[column].to_numpy()[: blocks * factor].reshape(blocks, factor).max(axis=1)
    return out


def drop_head(frame: pd.DataFrame, drop: str | int | None) -> pd.DataFrame:
    """Drop the start-up period: a duration such as ``"6h"`` on a timestamp index, or a row count."""
    if drop is None or drop == 0:
        return frame
    if isinstance(drop, str):
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise ValueError(f"drop_first={drop!r} is a duration but the index is not timestamps")
        kept = frame.loc[frame.index >= frame.index[0] + pd.Timedelta(drop)]
    else:
        kept = frame.iloc[int(drop):]
    if kept.empty:
        raise DataFormatError(f"{source_of(frame, 'frame')}: dropping the first {drop} leaves no rows")
    return kept
