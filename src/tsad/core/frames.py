"""The typed-frame contract that every connector produces and every stage consumes.

A typed frame has a strictly increasing index (``timestamp``: DatetimeIndex, or ``step``: integers), one
float32 column per channel, and an optional int8 ``label`` column (1 = anomalous).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsad.core.errors import DataFormatError, first_bad_row

LABEL = "label"


def source_of(frame: pd.DataFrame, default: str) -> str:
    """Where a frame came from, for error messages (connectors record it in ``attrs['source']``)."""
    return str(frame.attrs.get("source", default))


def channel_columns(frame: pd.DataFrame) -> list[str]:
    """The channel columns of a typed frame, in order."""
    return [c for c in frame.columns if c != LABEL]


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
    index = frame.index
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
    for column in channels:
        if not pd.api.types.is_float_dtype(frame[column]):
            raise DataFormatError(f"{source}: column {column!r} has dtype {frame[column].dtype}, expected float")
    labels = labels_of(frame)
    if labels is not None:
        bad = first_bad_row((labels != 0) & (labels != 1))
        if bad is not None:
            raise DataFormatError(f"{source}: column 'label', row {bad}: value {labels[bad]} is not 0 or 1")
