"""The typed-frame contract that every connector produces and every stage consumes.

A typed frame has a strictly increasing index (``timestamp``: DatetimeIndex, or ``step``: integers), one
float32 column per channel, an optional int8 ``label`` column (1 = anomalous) and, after the cleaning's ``drop``
policy, an int8 ``gap_before`` column (1 on a row that follows dropped rows; windows never span it). A dataset
made of many entities (SMD machines, MSL channels ...) has a two-level index ``(entity, timestamp | step)``, strictly
increasing within each entity; every stage then works entity by entity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsad.core.errors import DataFormatError, first_bad_row

LABEL = "label"
GAP = "gap_before"  # not a channel: 1 where rows were dropped just before this one (cleaning.nan_policy: drop)
ENTITY = "entity"
SINGLE = ""  # the entity name of a dataset that is one series (SWaT): metrics and states are not prefixed


def source_of(frame: pd.DataFrame, default: str) -> str:
    """Where a frame came from, for error messages (connectors record it in ``attrs['source']``)."""
    return str(frame.attrs.get("source", default))


def beyond_float32(values: np.ndarray, text: pd.Series | None = None) -> np.ndarray:
    """Which values a float32 channel cannot hold: beyond ±3.4e38 (they would become infinite).

    Args:
        values: The values as float64.
        text: The cells they were read from; an infinite value whose cell spells an infinity (``inf``,
            ``-Infinity``) was meant to be one and is not counted (the cleaning's ``nan_policy`` decides). Without
            it, infinite values count.
    """
    with np.errstate(invalid="ignore"):
        beyond = np.abs(values) > np.finfo(np.float32).max
    if text is not None and np.isinf(values).any():
        words = text.astype(str).str.strip().str.lstrip("+-").str.lower()
        beyond &= ~(np.isinf(values) & words.isin(("inf", "infinity")).to_numpy())
    return beyond


def channel_columns(frame: pd.DataFrame) -> list[str]:
    """The channel columns of a typed frame, in order."""
    return [c for c in frame.columns if c not in (LABEL, GAP)]


def labels_of(frame: pd.DataFrame) -> np.ndarray | None:
    """Point labels as int8, or None when the frame has no label column."""
    return frame[LABEL].to_numpy(dtype=np.int8) if LABEL in frame.columns else None


def validate_typed_frame(frame: pd.DataFrame, name: str) -> None:
    """Check the typed-frame contract.

    Args:
        frame: The frame to check.
        name: What to call it in errors (a file or a catalog entry).

    Raises:
        DataFormatError: Empty frame, index not strictly increasing, a non-numeric channel or a label
            outside {0, 1}; the message names the column and the row.
    """
    source = source_of(frame, name)
    if len(frame) == 0:
        raise DataFormatError(f"{source}: no rows")
    channels = channel_columns(frame)
    if not channels:
        raise DataFormatError(f"{source}: no channel columns")
    if GAP in frame.columns and frame[GAP].dtype != np.int8:  # a channel of that name would be read as gaps
        raise DataFormatError(f"{source}: column {GAP!r} is reserved (it marks rows after dropped ones); rename it")
    if isinstance(frame.index, pd.MultiIndex):
        for entity, part in split_entities(frame).items():
            _check_order(part.index, f"{source} (entity {entity!r})")
    else:
        _check_order(frame.index, source)
    for column in channels:
        if not pd.api.types.is_float_dtype(frame[column]):
            raise DataFormatError(f"{source}: column {column!r} has dtype {frame[column].dtype}, expected float")
    labels = labels_of(frame)
    if labels is not None:
        bad = first_bad_row((labels != 0) & (labels != 1))
        if bad is not None:
            raise DataFormatError(f"{source}: column 'label', row {bad}: value {labels[bad]} is not 0 or 1")


def _check_order(index: pd.Index, source: str) -> None:
    if isinstance(index, pd.DatetimeIndex):
        order = np.diff(index.asi8)
    elif pd.api.types.is_integer_dtype(index):
        order = np.diff(index.to_numpy())
    else:
        raise DataFormatError(f"{source}: the index must be timestamps or integer steps, got {index.dtype}")
    bad = first_bad_row(order <= 0)
    if bad is not None:
        kind = "duplicated" if order[bad] == 0 else "unsorted"
        raise DataFormatError(f"{source}: {kind} index at row {bad + 1} ({index[bad + 1]!r} after {index[bad]!r})")



def split_entities(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frame's entities in order of appearance.

    A multi-entity frame (SMD machines, MSL channels, NAB series) has a two-level index
    ``(entity, timestamp | step)`` with each entity's rows contiguous; a single series has a flat index and
    comes back as ``{"": frame}``. Each part has the flat time index and keeps the frame's ``attrs``.
    """
    if not isinstance(frame.index, pd.MultiIndex):
        return {SINGLE: frame}
    codes, names = pd.factorize(frame.index.get_level_values(ENTITY))
    starts = np.flatnonzero(np.diff(codes, prepend=-1) != 0)
    if len(starts) != len(names):
        raise DataFormatError(f"{source_of(frame, 'frame')}: the rows of each entity must be contiguous")
    bounds = np.append(starts, len(codes))
    parts = {}
    for i, name in enumerate(names):
        part = frame.iloc[bounds[i]:bounds[i + 1]].droplevel(ENTITY)
        part.attrs = dict(frame.attrs)
        parts[str(name)] = part
    return parts


def join_entities(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Inverse of ``split_entities``: one flat frame for ``{"": frame}``, else an (entity, time) index."""
    if list(parts) == [SINGLE]:
        return parts[SINGLE]
    return pd.concat(parts, names=[ENTITY])


def entity_label(entity: str, name: str) -> str:
    """``name`` qualified by its entity for messages and keys (unchanged for a single series)."""
    return f"{name} (entity {entity!r})" if entity else name
