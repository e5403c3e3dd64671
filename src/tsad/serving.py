"""The model's input rows: what a registered model (or ``mlflow models serve``) receives and how they become
a typed frame again.

A registered model takes rows shaped like the dataset's own files: for SWaT, ``Timestamp`` as SWaT writes it
(``28/12/2015 10:00:00 AM``) and the 51 tags as numbers; for other datasets, the time column (``timestamp`` or
``step``), an ``entity`` column for multi-entity data, and the channels. The input format is recorded in the
model bundle so that the model refuses rows that do not match, naming the missing or extra columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tsad.core.errors import DataFormatError, first_bad_row
from tsad.core.frames import ENTITY, LABEL, channel_columns, join_entities
from tsad.datasets.swat.files import (
    LABEL_COLUMN,
    TIMESTAMP_COLUMN,
    TIMESTAMP_FORMAT,
    format_swat_timestamps,
    parse_swat_frame,
    parse_swat_timestamps,
    read_swat_export,
)


def input_format(raw: pd.DataFrame, *, time_column: str | None = None, time_format: str | None = None,
                 optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """How rows of this dataset look (JSON-able, stored in the model bundle).

    Args:
        raw: A typed frame of the dataset (its channels and index define the rows).
        time_column: Name of the time column in the rows (default: the index name, e.g. ``timestamp``).
        time_format: strptime format of text timestamps; None for ISO timestamps or integer steps.
        optional: Columns the rows may carry that the model ignores (e.g. SWaT's ``Normal/Attack``).
    """
    multi = isinstance(raw.index, pd.MultiIndex)
    time_name = raw.index.names[-1] or "step"
    return {"time_column": time_column or time_name, "time_kind": "timestamp" if _is_time(raw) else "step",
            "time_format": time_format, "entity_column": ENTITY if multi else None,
            "channels": channel_columns(raw), "optional": list(optional)}


def rows_from_frame(frame: pd.DataFrame, fmt: dict[str, Any]) -> pd.DataFrame:
    """The rows a model receives for a typed frame (labels dropped; timestamps as text when formatted)."""
    rows = frame.drop(columns=[LABEL], errors="ignore").reset_index()
    time_name = frame.index.names[-1] or "index"
    time = rows.pop(time_name)
    if fmt["time_format"]:
        time = pd.Series(_format_times(pd.DatetimeIndex(time), fmt["time_format"]), index=rows.index)
    rows.insert(1 if fmt["entity_column"] else 0, fmt["time_column"], time)
    return rows[_columns(fmt)].astype({c: np.float64 for c in fmt["channels"]})


def frame_from_rows(rows: pd.DataFrame, fmt: dict[str, Any]) -> pd.DataFrame:
    """Validate model input rows and type them (float32 channels; time index; entities when present).

    Raises:
        DataFormatError: Missing or extra columns (both named), an unparseable or unsorted time value, or a
            non-numeric channel value, naming the column and row.
    """
    expected = _columns(fmt)
    missing = [c for c in expected if c not in rows.columns]
    extra = [c for c in rows.columns if c not in expected and c not in fmt["optional"]]
    if missing or extra:
        raise DataFormatError(f"model input: missing columns {missing}, unexpected columns {extra}; the model "
                              f"expects {expected} (optional: {fmt['optional']})")
    if len(rows) == 0:
        raise DataFormatError("model input: no rows")
    values = {}
    for column in fmt["channels"]:
        numbers = pd.to_numeric(rows[column], errors="coerce")
        bad = first_bad_row((numbers.isna() & rows[column].notna()).to_numpy())
        if bad is not None:
            raise DataFormatError(f"model input: column {column!r}, row {bad}: {rows[column].iloc[bad]!r} "
                                  "is not a number")
        values[column] = numbers.to_numpy(dtype=np.float32)
    time = _parse_time(rows[fmt["time_column"]], fmt)
    frame = pd.DataFrame(values, index=time)
    if fmt["entity_column"] is None:
        return frame
    entities = rows[fmt["entity_column"]].astype(str).to_numpy()
    return join_entities({name: frame[entities == name] for name in pd.unique(entities)})


def _columns(fmt: dict[str, Any]) -> list[str]:
    return ([fmt["entity_column"]] if fmt["entity_column"] else []) + [fmt["time_column"], *fmt["channels"]]


def _is_time(raw: pd.DataFrame) -> bool:
    index = raw.index.levels[-1] if isinstance(raw.index, pd.MultiIndex) else raw.index
    return isinstance(index, pd.DatetimeIndex)


def _parse_time(values: pd.Series, fmt: dict[str, Any]) -> pd.Index:
    name = "timestamp" if fmt["time_kind"] == "timestamp" else "step"
    if fmt["time_kind"] == "step":
        steps = pd.to_numeric(values, errors="coerce")
        bad = first_bad_row(steps.isna().to_numpy())
        if bad is not None:
            raise DataFormatError(f"model input: column {fmt['time_column']!r}, row {bad}: {values.iloc[bad]!r} "
                                  "is not an integer step")
        return pd.Index(steps.to_numpy(dtype=np.int64), name=name)
    stamps = _parse_text_times(values, fmt["time_format"])
    bad = first_bad_row(np.asarray(stamps.isna()))
    if bad is not None:
        raise DataFormatError(f"model input: column {fmt['time_column']!r}, row {bad}: cannot parse "
                              f"{values.iloc[bad]!r}" + (f" as {fmt['time_format']}" if fmt["time_format"] else ""))
    return pd.DatetimeIndex(stamps, name=name)


def _parse_text_times(values: pd.Series, time_format: str | None) -> pd.Series | pd.DatetimeIndex:
    """Timestamps, NaT where a value is not one; text in ``time_format`` when given (blanks around allowed)."""

    if time_format == TIMESTAMP_FORMAT:  # SWaT's, read several times faster by its own parser
        return parse_swat_timestamps(values)
    text = values.astype(str).str.strip() if time_format else values
    return pd.to_datetime(text, format=time_format, errors="coerce")


def _format_times(index: pd.DatetimeIndex, time_format: str) -> np.ndarray:
    if time_format == TIMESTAMP_FORMAT:  # SWaT's own unpadded day, month and hour
        return np.char.strip(format_swat_timestamps(index).astype(str))
    return index.strftime(time_format).to_numpy()


def swat_input_format(raw: pd.DataFrame) -> dict[str, Any]:
    """SWaT's own file columns: ``Timestamp`` as SWaT writes it, the tags, and an ignored ``Normal/Attack``."""

    return input_format(raw, time_column=TIMESTAMP_COLUMN, time_format=TIMESTAMP_FORMAT, optional=(LABEL_COLUMN,))


def swat_model_input(path: str) -> pd.DataFrame:
    """Read a raw SWaT file (.xlsx or either CSV export) into the rows a registered SWaT model takes.

    Tags come back as float64, which is what the model's signature asks for: MLflow refuses to convert
    integer columns (the actuator states in the files) to floating point on its own.
    """

    typed = parse_swat_frame(read_swat_export(path))
    return rows_from_frame(typed, swat_input_format(typed))
