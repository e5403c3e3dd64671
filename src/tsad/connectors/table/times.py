"""The time index of one file: parsed timestamps (a format, inferred or given; epoch numbers; UTC offsets to UTC),
integer steps or row numbers, and strictly increasing."""

from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pandas as pd

from tsad.connectors.table.reading import line_or_row
from tsad.connectors.table.source_spec import TableSpec
from tsad.core.errors import DataFormatError, first_bad_row

logger = logging.getLogger(__name__)

_UTC_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")  # at the end of an ISO time: 2024-05-01T08:00:00+02:00


def time_index(cells: pd.DataFrame, spec: TableSpec, source: str, first_line: int | None,
               notes: list[str] | None = None) -> pd.Index:
    """The index of ``read_cells``' output: ``timestamp`` (parsed), ``step`` (a step column, or the row numbers).

    Times converted to UTC (from a UTC offset or a time zone) are logged and noted in ``notes``.

    Raises:
        DataFormatError: A time that does not parse, a step that is not a whole number, or a duplicated or
            unsorted time, naming the file, the column, the line and the value.
    """
    column = cells.attrs["time"]
    if column is None:  # the row number, from 0 in every file
        return pd.Index(np.arange(len(cells), dtype=np.int64), name="step")
    values = cells[column]
    if spec.time.kind == "step":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        row = first_bad_row(~np.isfinite(numbers) | (numbers != np.round(numbers)))
        if row is not None:
            raise DataFormatError(f"{source}: column {column!r}, {line_or_row(first_line, row)}: "
                                  f"{values.iloc[row]!r} is not a whole-number step ({spec.key('timestamp')} has "
                                  "kind: step)")
        index = pd.Index(numbers.astype(np.int64), name="step")
    else:
        index = pd.DatetimeIndex(_parse_times(values, spec, source, first_line, [] if notes is None else notes),
                                 name="timestamp")
    order = np.diff(index.asi8 if isinstance(index, pd.DatetimeIndex) else index.to_numpy())
    row = first_bad_row(order <= 0)
    if row is not None:
        kind = "duplicated" if order[row] == 0 else "unsorted"
        raise DataFormatError(f"{source}: column {column!r}, {line_or_row(first_line, row + 1)}: {kind} time "
                              f"{values.iloc[row + 1]!r} after {values.iloc[row]!r} on the row before; times must "
                              "increase strictly (one row per time)")
    return index


def _note(notes: list[str], note: str) -> None:
    logger.info("%s", note)
    notes.append(note)


def _parse_times(values: pd.Series, spec: TableSpec, source: str, first_line: int | None,
                 notes: list[str]) -> pd.DatetimeIndex:
    column, unit, time_format = values.name, spec.time.unit, spec.time.format
    if unit is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        row = first_bad_row(numbers.isna().to_numpy())
        if row is not None:
            raise DataFormatError(f"{source}: column {column!r}, {line_or_row(first_line, row)}: "
                                  f"{values.iloc[row]!r} is not an epoch time in {unit}")
        return pd.DatetimeIndex(pd.to_datetime(numbers, unit=unit))
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.DatetimeIndex(values)
    elif pd.api.types.is_numeric_dtype(values):
        raise DataFormatError(f"{source}: column {column!r}, {line_or_row(first_line, 0)}: {values.iloc[0]!r} is a "
                              f"number, not a timestamp; set {spec.key('timestamp')} to {{column: {column}, unit: s}} "
                              "for epoch seconds, or {kind: step} for a step count")
    else:
        text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
        with warnings.catch_warnings():  # "could not infer format": parsed element-wise, still checked below
            warnings.simplefilter("ignore", UserWarning)
            try:
                parsed = pd.to_datetime(text, format=time_format, errors="coerce", utc=True)
            except (ValueError, TypeError) as error:
                raise DataFormatError(f"{source}: column {column!r}: cannot parse timestamps such as "
                                      f"{text.iloc[0]!r}: {error}") from error
        row = first_bad_row(parsed.isna().to_numpy())
        if row is not None:
            how = f"with format {time_format!r}" if time_format else \
                f"in the format of {text.iloc[0]!r} on the first row (or set {spec.key('timestamp')}.format)"
            raise DataFormatError(f"{source}: column {column!r}, {line_or_row(first_line, row)}: cannot parse "
                                  f"{values.iloc[row]!r} as a timestamp {how}")
        # Times with a UTC offset become UTC; times without one keep their wall-clock value.
        stamps = pd.DatetimeIndex(parsed).tz_convert(None)
        if _UTC_OFFSET.search(text.iloc[0]):
            _note(notes, f"{source}: column {column!r}: times with a UTC offset (such as {text.iloc[0]!r}) "
                         "converted to UTC")
    if stamps.tz is not None:
        _note(notes, f"{source}: column {column!r}: times in time zone {stamps.tz} converted to UTC")
        stamps = stamps.tz_convert(None)
    row = first_bad_row(stamps.isna())
    if row is not None:
        raise DataFormatError(f"{source}: column {column!r}, {line_or_row(first_line, row)}: missing timestamp")
    return stamps.as_unit("ns")
