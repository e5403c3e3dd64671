"""Fast, strict reading of large delimited files (WADI, PSM, KDD Cup 99, CICIDS2017) with errors that name a line.

The files run to millions of rows, so they are read with pyarrow's multi-threaded CSV reader into typed
columns rather than as text cells. pyarrow is strict where pandas is lenient: a row with too few or too many
fields, or a non-numeric value in a numeric column, fails the read. Such a failure is then diagnosed by a
second, slower pass (single-threaded, or over the one offending column as text) that finds the line, so the
error names the file, the column and the line while the common path stays fast.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from tsad.core.errors import DataFormatError, first_bad_row

# pyarrow reports a failed conversion as "In CSV column #3: CSV conversion error to double: invalid value 'x'".
_COLUMN_IN_ERROR = re.compile(r"CSV column #(\d+)")
# Cells read as missing in numeric columns (pyarrow's defaults minus "NA"-like words that could hide typos).
NULL_VALUES = ("", "NaN", "nan", "NAN", "-nan", "-NaN", "NULL", "null")


def check_file(path: str | Path) -> Path:
    """The path, after checking that it exists and is not empty (else a DataFormatError naming it)."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: file not found")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty")
    return path


def head_lines(path: Path, count: int, encoding: str = "utf-8") -> list[str]:
    """The first ``count`` lines of a text file (gzip-aware), without line ends."""
    opener = gzip.open if path.suffix == ".gz" else open
    lines = []
    with opener(path, "rt", encoding=encoding, errors="replace", newline="") as handle:
        for _ in range(count):
            line = handle.readline()
            if not line:
                break
            lines.append(line.rstrip("\r\n"))
    return lines


def split_header(line: str) -> list[str]:
    """Field names of a header line (comma-separated, optionally quoted), unstripped."""
    return next(csv.reader([line]), [])


def dedupe(names: Sequence[str]) -> list[str]:
    """Unique column names the way pandas makes them: a repeated ``x`` becomes ``x.1``, ``x.2`` ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        unique = name
        while unique in seen:
            seen[name] += 1
            unique = f"{name}.{seen[name]}"
        seen.setdefault(unique, 0)
        out.append(unique)
    return out


def read_table(path: Path, names: Sequence[str], *, skip_lines: int, text_columns: Iterable[str] = (),
               category_columns: Iterable[str] = (), byte_columns: Iterable[str] = (),
               float_columns: Iterable[str] | None = None, float_type: pa.DataType | None = None,
               keep: Sequence[str] | None = None, encoding: str = "utf8", what: str = "file") -> pd.DataFrame:
    """Read the data rows of a delimited file into a DataFrame with typed columns.

    Args:
        path: A ``.csv`` or ``.csv.gz`` (any text file with ``,`` separators).
        names: The name of every field, in file order (the caller reads the header itself, so that it can
            check it and report on it).
        skip_lines: Lines before the first data row (preamble and header).
        text_columns: Columns kept as strings.
        category_columns: Columns kept as categories (repeated text such as protocol names or labels).
        byte_columns: Columns kept as categories of raw bytes (labels that are not valid UTF-8).
        float_columns: Columns read as floats (empty cells and ``NaN`` are NaN, ``inf``/``Infinity`` are
            infinite); ``None`` means every column that is not text or category.
        float_type: ``pa.float64()`` (default) or ``pa.float32()``, which halves the memory of wide files
            whose values carry at most seven significant digits.
        keep: Only these columns are converted and returned (default: all).
        encoding: Text encoding of the file (``latin-1`` reads files with stray cp1252 bytes).
        what: What the file should be, for errors (``"a WADI file"``).

    Returns:
        The data rows, columns named ``names``. ``attrs["source"]`` is the path and ``attrs["first_line"]`` the
        1-based line of the first data row.

    Raises:
        DataFormatError: A row with the wrong number of fields, or a non-numeric value in a float column,
            naming the file, the column and the line; a file with no data rows.
    """
    names = list(names)
    text, categories, raw = set(text_columns), set(category_columns), set(byte_columns)
    floats = [n for n in names if n not in text | categories | raw] if float_columns is None else list(float_columns)
    types: dict[str, pa.DataType] = {n: pa.string() for n in text}
    types |= {n: pa.dictionary(pa.int32(), pa.string()) for n in categories}
    types |= {n: pa.dictionary(pa.int32(), pa.binary()) for n in raw}
    types |= {n: float_type or pa.float64() for n in floats}
    read_options = pacsv.ReadOptions(column_names=names, skip_rows=skip_lines, encoding=encoding,
                                     block_size=1 << 24)
    convert = pacsv.ConvertOptions(column_types=types, null_values=list(NULL_VALUES), strings_can_be_null=False,
                                   quoted_strings_can_be_null=False, include_columns=list(keep or names))
    try:
        table = pacsv.read_csv(path, read_options=read_options, convert_options=convert)
    except pa.ArrowInvalid as error:
        raise diagnose_csv_error(path, names, {"column_names": names, "skip_rows": skip_lines, "encoding": encoding},
                                 error, what=what) from error
    if table.num_rows == 0:
        raise DataFormatError(f"{path}: the file has a header but no data rows")
    frame = table.to_pandas(self_destruct=True)  # frees each column once converted
    del table
    frame.attrs = {"source": str(path), "first_line": skip_lines + 1}
    return frame


def diagnose_csv_error(path: Path, names: list[str], read: dict[str, Any], error: Exception, *, what: str,
                       parse: pacsv.ParseOptions | None = None, decimal: str = ".") -> DataFormatError:
    """The line behind a failed CSV read: a row of the wrong width, or a cell that is not a number.

    Args:
        read: The failed read's ``pyarrow.csv.ReadOptions`` keywords (``column_names``, ``skip_rows``, ``encoding``).
        what: What the file should be (``"a WADI file"``, ``"CSV"``), for the message.
        parse: The failed read's parse options (its delimiter); pyarrow's defaults when None.
        decimal: The file's decimal mark; a cell with a decimal comma is a number when it is ``","``.
    """
    message = str(error)
    delimiter = {"delimiter": parse.delimiter} if parse is not None else {}
    if "Expected" in message and "columns, got" in message:
        bad: list[tuple[int | None, int, int]] = []

        def keep_first(row: pacsv.InvalidRow) -> str:
            if not bad:
                bad.append((row.number, row.expected_columns, row.actual_columns))
            return "skip"

        pacsv.read_csv(path, read_options=pacsv.ReadOptions(**read, use_threads=False),
                       parse_options=pacsv.ParseOptions(**delimiter, invalid_row_handler=keep_first),
                       convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
        if bad:
            number, expected, actual = bad[0]
            line = f"line {number}" if number is not None else "a line"  # pyarrow counts every physical line
            return DataFormatError(f"{path}: {line} has {actual} fields, expected {expected} "
                                   f"({what} has {expected} columns)")
    found = _COLUMN_IN_ERROR.search(message)
    if found and int(found.group(1)) < len(names):
        column = names[int(found.group(1))]
        cells = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(**read), parse_options=pacsv.ParseOptions(**delimiter),
            convert_options=pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()}),
        ).column(0).to_pandas()
        row = first_non_number(cells.str.replace(",", ".", regex=False) if decimal == "," else cells)
        if row is not None:
            return DataFormatError(f"{path}: column {column.strip()!r}, line {read['skip_rows'] + 1 + row}: "
                                   f"{cells.iloc[row]!r} is not a number")
    return DataFormatError(f"{path}: cannot read as {what}: {message}")


def first_non_number(cells: pd.Series) -> int | None:
    """Position of the first cell that is neither a number nor one of the missing-value spellings."""
    text = cells.astype(str).str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    missing = text.isin(NULL_VALUES)
    return first_bad_row((numbers.isna() & ~missing).to_numpy(dtype=bool))


def blank(values: pd.Series) -> np.ndarray:
    """Which cells are empty: missing, or text (or bytes) that is only whitespace."""
    if pd.api.types.is_numeric_dtype(values):
        return values.isna().to_numpy()
    codes, uniques = pd.factorize(values)  # few distinct values in the columns this is used on
    empty = np.array([(u.decode("latin-1") if isinstance(u, bytes) else str(u)).strip() == "" for u in uniques]
                     + [True])
    return empty[codes]


def drop_trailing_blank_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Drop rows at the end of the file whose ``columns`` are all empty (exports often end with ``,,,,`` rows).

    Returns:
        The frame without them, and how many were dropped.
    """
    empty = np.ones(len(frame), dtype=bool)
    for column in columns:
        empty &= blank(frame[column])
    filled = np.flatnonzero(~empty)
    keep = filled[-1] + 1 if len(filled) else 0
    if keep == len(frame):
        return frame, 0
    out = frame.iloc[:keep]
    out.attrs = dict(frame.attrs)
    return out, len(frame) - keep
