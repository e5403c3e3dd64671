"""One CSV or Parquet file's time, label and channel columns, with its errors named by file, column and line.

CSV goes through pyarrow's multi-threaded reader with types fixed after a 1 MiB sample
(``tsad.connectors.delimited`` does the same for the benchmark files), and a failed read is diagnosed by a second
pass that finds the line. ``line`` counts physical lines of a CSV file from 1; ``row`` counts the data rows of a
Parquet file from 0 (``line_or_row``).
"""

from __future__ import annotations

import csv
import fnmatch
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tsad.connectors.delimited import NULL_VALUES, check_file, diagnose_csv_error, first_non_number, head_lines
from tsad.connectors.table.listing import PATTERN_CHARACTERS, file_format_of
from tsad.connectors.table.source_spec import TableSpec
from tsad.core.errors import DataFormatError

logger = logging.getLogger(__name__)


_SAMPLE_BYTES = 1 << 20  # CSV column types are inferred from the first MiB, then fixed for the whole file
_BLOCK_BYTES = 1 << 24
_NUMERIC_SHARE = 0.5  # a text column whose non-empty cells are mostly numbers is a channel with a bad cell
_BOM = "\ufeff"
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+$")
_SEPARATORS = (";", "\t", "|", ",")


@dataclass(frozen=True)
class _Columns:
    time: str | None
    label: str | None                 # None: the file has no label column
    channels: list[str] | None        # None: every numeric column
    candidates: list[str]             # the columns that may be channels
    unnamed: list[str] = field(default_factory=list)


def read_cells(path: Path, spec: TableSpec) -> pd.DataFrame:
    """Read one file's time, label and channel columns (channels as numbers, time and label as found).

    Returns:
        The columns, with ``attrs``: ``source`` (the path), ``first_line`` (the CSV line of the first data
        row; None for Parquet), ``time``, ``label`` (the column names found, or None), ``channels`` and
        ``notes`` (what was accepted without a word in the declaration: a byte-order mark, columns left out).

    Raises:
        DataFormatError: An unreadable (truncated) file, an empty file, a missing declared column, a row of the
            wrong width, a non-number in a channel, or no numeric channel at all, naming the file, the column and
            a row.
    """
    reader = _read_parquet if file_format_of(path, spec) == "parquet" else _read_csv
    try:
        frame = reader(check_file(path), spec)
    except (OSError, EOFError) as error:  # a truncated .gz ("Truncated compressed stream") names no file
        raise DataFormatError(f"{path}: cannot read the file ({error}); is it truncated or damaged?") from error
    if len(frame) == 0:
        raise DataFormatError(f"{path}: the file has a header but no data rows")
    return frame


def _select_columns(names: list[str], spec: TableSpec, path: Path) -> _Columns:
    """Which columns are the time, the label and the channel candidates, from the header."""
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataFormatError(f"{path}: repeated column name(s) {duplicated} in the header")
    time = spec.time.column
    if time is not None and time not in names:
        raise DataFormatError(f"{path}: no timestamp column {time!r} ({spec.key('timestamp')}); the columns are "
                              f"{_preview(names)}{_separator_hint(names, spec)}")
    label = spec.label.column if spec.label and spec.label.column in names else None
    candidates = [n for n in names if n not in (time, label)]
    unnamed = [n for n in candidates if n.startswith("unnamed_")]
    channels = None
    if spec.channels is not None:
        channels = _match(spec.channels, candidates, path, spec.key("channels"), _separator_hint(names, spec))
    excluded = set(_match(spec.exclude_channels, candidates, path, spec.key("exclude_channels"),
                          _separator_hint(names, spec))) \
        if spec.exclude_channels else set()
    if channels is not None:
        channels = [c for c in channels if c not in excluded]
    candidates = [c for c in candidates if c not in excluded]
    return _Columns(time=time, label=label, channels=channels, candidates=candidates, unnamed=unnamed)


def _match(items: Sequence[str], names: list[str], path: Path, key: str, hint: str = "") -> list[str]:
    """The names (in file order) matched by exact names or shell patterns; each item must match something."""
    chosen: set[str] = set()
    for item in items:
        matches = fnmatch.filter(names, item) if PATTERN_CHARACTERS & set(item) else [item] if item in names else []
        if not matches:
            raise DataFormatError(f"{path}: {key} names {item!r}, which matches no column; the columns are "
                                  f"{_preview(names)}{hint}")
        chosen.update(matches)
    return [n for n in names if n in chosen]


def _header(path: Path, spec: TableSpec, sep: str, notes: list[str]) -> list[str]:
    lines = head_lines(path, spec.csv.skip_lines + 1, encoding=spec.csv.encoding)
    if lines and lines[0].startswith(_BOM):  # Excel's "CSV UTF-8" starts with one; it is no part of a name
        lines[0] = lines[0][len(_BOM):]
        notes.append(f"{path}: a UTF-8 byte-order mark at the start of the file, ignored")
    if len(lines) <= spec.csv.skip_lines or not lines[-1].strip():
        raise DataFormatError(f"{path}: no header on line {spec.csv.skip_lines + 1}")
    raw = next(csv.reader([lines[-1]], delimiter=sep), [])
    # An empty name is usually a written-out index (pandas' to_csv): it gets a name and is never a channel
    # unless named in channels.
    return [n.strip() or f"unnamed_{i + 1}" for i, n in enumerate(raw)]


def _separator_hint(names: list[str], spec: TableSpec) -> str:
    """A hint for a header read as one column that holds another separator (a ``;`` file read with ``,``)."""
    found = [s for s in _SEPARATORS if len(names) == 1 and s in names[0] and s != spec.csv.sep]
    return f"; the header is one column holding {found[0]!r}: set {spec.key('csv')}.sep to {found[0]!r}" \
        if found else ""


def column_text(path: Path, spec: TableSpec, column: str) -> pd.Series:
    """One column's cells as the file writes them (a Parquet file's values as text), for messages."""
    if file_format_of(path, spec) == "parquet":
        frame = pq.read_table(path).to_pandas()
        frame = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
        return frame.set_axis([str(c).strip() for c in frame.columns], axis=1)[column].astype(str)
    sep = _separator(path, spec)
    names = _header(path, spec, sep, [])
    read = pacsv.ReadOptions(column_names=names, skip_rows=spec.csv.skip_lines + 1, encoding=spec.csv.encoding)
    return pacsv.read_csv(path, read_options=read, parse_options=pacsv.ParseOptions(delimiter=sep),
                          convert_options=pacsv.ConvertOptions(include_columns=[column],
                                                               column_types={column: pa.string()})
                          ).column(0).to_pandas()


def _separator(path: Path, spec: TableSpec) -> str:
    return spec.csv.sep or ("\t" if ".tsv" in path.name.lower() else ",")


def _read_csv(path: Path, spec: TableSpec) -> pd.DataFrame:
    options = spec.csv
    sep = _separator(path, spec)
    notes: list[str] = []
    names = _header(path, spec, sep, notes)
    columns = _select_columns(names, spec, path)
    time_numeric = spec.time.kind == "step" or spec.time.unit is not None
    types: dict[str, pa.DataType] = {}
    if columns.time:
        types[columns.time] = pa.float64() if time_numeric else pa.string()
    if columns.label:
        types[columns.label] = pa.string()
    read = {"column_names": names, "skip_rows": options.skip_lines + 1, "encoding": options.encoding}
    parse = pacsv.ParseOptions(delimiter=sep)
    convert = {"null_values": list(NULL_VALUES), "strings_can_be_null": False, "quoted_strings_can_be_null": False,
               "decimal_point": options.decimal}
    left_out: list[str] = []
    if columns.channels is not None:
        channels = columns.channels
        types |= dict.fromkeys(channels, pa.float64())
    else:  # every numeric column: types inferred from a sample, then fixed so that later blocks cannot differ
        candidates = [c for c in columns.candidates if c not in columns.unnamed]
        left_out += [c for c in columns.candidates if c in columns.unnamed]
        try:
            sample = pacsv.open_csv(path, read_options=pacsv.ReadOptions(**read, block_size=_SAMPLE_BYTES),
                                    parse_options=parse,
                                    convert_options=pacsv.ConvertOptions(column_types=dict(types),
                                                                         include_columns=candidates, **convert))
            schema = sample.schema
            sample.close()
        except pa.ArrowInvalid as error:
            raise diagnose_csv_error(path, names, read, error, what="CSV", parse=parse,
                                     decimal=options.decimal) from error
        channels = []
        for column in candidates:
            kind = schema.field(column).type
            if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind) \
                    or pa.types.is_decimal(kind):
                types[column] = pa.float64()
                channels.append(column)
            elif pa.types.is_boolean(kind):
                types[column] = pa.bool_()
                channels.append(column)
            elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
                types[column] = pa.string()  # checked below: mostly numbers means a bad cell, else left out
                channels.append(column)
            else:
                left_out.append(column)  # dates and times other than the time column
    keep = [c for c in names if c in types]
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(**read, block_size=_BLOCK_BYTES),
                               parse_options=parse,
                               convert_options=pacsv.ConvertOptions(column_types=types, include_columns=keep,
                                                                    **convert))
    except pa.ArrowInvalid as error:
        raise diagnose_csv_error(path, names, read, error, what="CSV", parse=parse,
                                     decimal=options.decimal) from error
    frame = table.to_pandas()
    first_line = options.skip_lines + 2
    return _finish(frame, path, columns, channels, left_out, first_line=first_line, spec=spec, notes=notes)


def _read_parquet(path: Path, spec: TableSpec) -> pd.DataFrame:
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as error:
        raise DataFormatError(f"{path}: cannot read as Parquet: {error}") from error
    if not isinstance(frame.index, pd.RangeIndex):  # a saved index (a DatetimeIndex ...) is a column like any other
        frame = frame.reset_index()
    frame.columns = [str(c).strip() or f"unnamed_{i + 1}" for i, c in enumerate(frame.columns)]
    columns = _select_columns(list(frame.columns), spec, path)
    if columns.channels is not None:
        channels, left_out = columns.channels, []
    else:
        channels = [c for c in columns.candidates if c not in columns.unnamed and not
                    pd.api.types.is_datetime64_any_dtype(frame[c]) and not
                    isinstance(frame[c].dtype, pd.CategoricalDtype | pd.PeriodDtype | pd.IntervalDtype)]
        left_out = [c for c in columns.candidates if c not in channels]
    return _finish(frame, path, columns, channels, left_out, first_line=None, spec=spec, notes=[])


def _finish(frame: pd.DataFrame, path: Path, columns: _Columns, channels: list[str], left_out: list[str], *,
            first_line: int | None, spec: TableSpec, notes: list[str]) -> pd.DataFrame:
    """Channels as float64 (text columns checked), the kept columns in file order, and the attrs."""
    explicit = columns.channels is not None
    numbers: dict[str, np.ndarray] = {}
    for column in channels:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numbers[column] = values.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
        parsed = pd.to_numeric(text.str.replace(",", ".", regex=False) if spec.csv.decimal == "," else text,
                               errors="coerce")
        filled = ~text.isin(NULL_VALUES)
        row = first_non_number(text.where(filled, ""))
        if row is None:  # numbers stored as text (an object column of a Parquet file)
            numbers[column] = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        if explicit or parsed.notna().sum() >= _NUMERIC_SHARE * int(filled.sum()):
            decimal = f"; for decimal commas set {spec.key('csv')}.decimal to ','" \
                if spec.csv.decimal == "." and _DECIMAL_COMMA.match(text.iloc[row]) else ""
            raise DataFormatError(f"{path}: column {column!r}, {line_or_row(first_line, row)}: {values.iloc[row]!r} is "
                                  "not a number" + ("" if explicit else f" (the column is otherwise numeric; fix "
                                                    "the cell, or leave the column out with "
                                                    f"{spec.key('exclude_channels')})") + decimal)
        left_out.append(column)
    channels = [c for c in channels if c in numbers]
    if not channels:
        shown = {c: frame[c].iloc[0] for c in left_out[:6]}
        raise DataFormatError(f"{path}: no numeric channel; columns {_preview(left_out)} hold text, dates or "
                              f"unnamed indexes ({line_or_row(first_line, 0)}: {shown})"
                              + (f"; the time column is {columns.time!r}" if columns.time else "")
                              + _separator_hint(list(frame.columns), spec))
    if left_out:
        notes.append(f"{path}: left out {len(left_out)} column(s) that are not numeric channels: "
                     f"{_preview(left_out)}")
    for note in notes:  # logged once, here; typing adds its own (a time zone converted)
        logger.info("%s", note)
    out = pd.DataFrame(numbers, index=pd.RangeIndex(len(frame)))
    if columns.time:
        out.insert(0, columns.time, frame[columns.time].to_numpy())
    if columns.label:
        out[columns.label] = frame[columns.label].to_numpy()
    out.attrs = {"source": str(path), "first_line": first_line, "time": columns.time, "label": columns.label,
                 "channels": channels, "notes": notes}
    return out


def line_or_row(first_line: int | None, row: int) -> str:
    """Where data row ``row`` (from 0) is, for messages: its CSV line, or its Parquet row (``first_line`` None)."""
    return f"row {row}" if first_line is None else f"line {first_line + row}"


def _preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown} ... ({len(names)} in all)]" if len(names) > limit else f"[{shown}]"
