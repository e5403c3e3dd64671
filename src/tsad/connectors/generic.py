"""Bring your own data: CSV or Parquet files described by one configuration block, ``datasets.<name>.source``.

The block says where the files are and how to read them; no Python is needed to add a dataset::

    datasets:
      plant:
        source:
          train: data/01_raw/plant/normal.csv      # a file, a list of files (one series in pieces),
          test: data/01_raw/plant/attack.csv       # a folder or a glob (one entity per file)
          timestamp: time                          # or {column, format, unit, kind: step}, or null: row numbers
          label: {column: attack, anomaly: [1], normal: [0]}   # optional; the test data may be unlabelled
          channels: null                           # names or shell patterns; null: every numeric column

Without ``test``, ``split`` cuts every series in time: ``{fraction: 0.7}`` (the leading 70 % trains) or
``{at: "2024-03-01"}`` (rows before trains; an integer step with a step index). Every other key is listed in
``SOURCE_KEYS`` and explained in ``table_spec``.

Reading is fast where files are large: CSV goes through pyarrow's multi-threaded reader with types fixed after
a 1 MiB sample (``tsad.connectors.delimited`` does the same for the benchmark files), and a failed read is
diagnosed by a second pass that finds the line. Every error names the file, the column and an example row
(``line`` counts physical lines of a CSV file from 1; ``row`` counts the data rows of a Parquet file from 0).

The Kedro side is ``tsad.datasets.TableSourceDataset`` (it lists the files and hands the ingest node a
``TableSource`` of lazy per-entity readers) and ``ingest_table`` below (the ingest node: entity selection,
cross-file checks and the typed frames of ``tsad.core.frames``).
"""

from __future__ import annotations

import csv
import fnmatch
import glob
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tsad.connectors.delimited import NULL_VALUES, check_file, diagnose_csv_error, first_non_number, head_lines
from tsad.connectors.entities import EntitySource, natural_key, read_selected, select_entities
from tsad.core.errors import DataFormatError, first_bad_row
from tsad.core.frames import ENTITY, LABEL, SINGLE, channel_columns, join_entities, validate_typed_frame

logger = logging.getLogger(__name__)

SOURCE_KEYS = ("kind", "train", "test", "split", "format", "timestamp", "label", "channels", "exclude_channels",
               "entities", "exclude", "csv")
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_PATTERN_CHARACTERS = frozenset("*?[")
_SAMPLE_BYTES = 1 << 20  # CSV column types are inferred from the first MiB, then fixed for the whole file
_BLOCK_BYTES = 1 << 24
_NUMERIC_SHARE = 0.5  # a text column whose non-empty cells are mostly numbers is a channel with a bad cell


# --------------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class TimeSpec:
    """The time index: a column of timestamps or integer steps, or the row numbers (``column`` None)."""

    column: str | None = None
    kind: str = "timestamp"      # timestamp | step
    format: str | None = None    # strptime format of text timestamps (None: inferred from the first value)
    unit: str | None = None      # epoch numbers: s | ms | us | ns


@dataclass(frozen=True)
class LabelSpec:
    """The label column and its declared values (compared as canonical text, see ``canonical_value``)."""

    column: str
    anomaly: tuple[str, ...] = ("1",)
    normal: tuple[str, ...] = ("0",)
    shown: str = ""  # the declared values as written, for messages


@dataclass(frozen=True)
class CsvSpec:
    """How CSV files are laid out."""

    sep: str | None = None       # None: tab for .tsv files, a comma otherwise
    decimal: str = "."
    encoding: str = "utf8"
    skip_lines: int = 0          # lines before the header


@dataclass(frozen=True)
class SplitSpec:
    """How a series is cut in time when there are no test files: a leading fraction or a time (``at``)."""

    fraction: float | None = None
    at: Any = None


@dataclass(frozen=True)
class TableSpec:
    """A validated ``datasets.<name>.source`` block (see ``table_spec``)."""

    dataset: str
    train: tuple[str, ...]
    test: tuple[str, ...] | None
    split: SplitSpec | None
    format: str | None
    time: TimeSpec
    label: LabelSpec | None
    channels: tuple[str, ...] | None
    exclude_channels: tuple[str, ...]
    entities: Any
    exclude: Any
    csv: CsvSpec

    def key(self, name: str) -> str:
        """The configuration key of a setting, for messages."""
        return f"datasets.{self.dataset}.source.{name}"


def table_spec(source: Mapping[str, Any], dataset: str) -> TableSpec:
    """Validate a ``datasets.<name>.source`` block.

    Args:
        source: The block. Keys: ``train`` (required) and ``test``: a file, a list of files (pieces of one
            series, in time order), a folder or a glob (one entity per file, named after the file without its
            suffix); ``split``: ``{fraction: f}`` or ``{at: time or step}`` when there is no ``test``;
            ``format``: ``csv`` or ``parquet`` (default: from each file's suffix); ``timestamp``: a column
            name, ``{column, format, unit, kind}`` (``kind: step`` for an integer step column, ``unit`` for
            epoch numbers) or null for row numbers; ``label``: a column name (anomaly 1, normal 0) or
            ``{column, anomaly: [...], normal: [...]}``; ``channels`` and ``exclude_channels``: names or shell
            patterns (default: every numeric column); ``entities`` and ``exclude``: entity names or patterns
            (folders and globs); ``csv``: ``{sep, decimal, encoding, skip_lines}``; ``kind``: ``table``.
        dataset: The dataset's name, for messages.

    Raises:
        ValueError: An unknown key or a value of the wrong form, naming the key.
    """
    where = f"datasets.{dataset}.source"
    if not isinstance(source, Mapping):
        raise ValueError(f"{where} must be a mapping of settings, got {source!r}")
    unknown = sorted(set(source) - set(SOURCE_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known keys: {list(SOURCE_KEYS)}")
    if source.get("kind", "table") != "table":
        raise ValueError(f"{where}.kind: only 'table' (CSV or Parquet files) is known, got {source['kind']!r}")
    if source.get("train") in (None, "", []):
        raise ValueError(f"{where}.train: required: a file, a list of files, a folder or a glob")
    train = _paths(source["train"], f"{where}.train")
    test = _paths(source["test"], f"{where}.test") if source.get("test") not in (None, "", []) else None
    split = _split(source.get("split"), f"{where}.split")
    if test is None and split is None:
        raise ValueError(f"{where}: give test files (test) or a split of the training files (split: "
                         "{fraction: 0.7} or {at: '2024-03-01 00:00'})")
    if test is not None and split is not None:
        raise ValueError(f"{where}: give either test or split, not both")
    file_format = source.get("format")
    if file_format not in (None, "csv", "parquet"):
        raise ValueError(f"{where}.format must be csv, parquet or null (from the suffix), got {file_format!r}")
    return TableSpec(
        dataset=dataset, train=train, test=test, split=split, format=file_format,
        time=_time(source.get("timestamp"), f"{where}.timestamp"),
        label=_label(source.get("label"), f"{where}.label"),
        channels=_names(source.get("channels"), f"{where}.channels"),
        exclude_channels=_names(source.get("exclude_channels"), f"{where}.exclude_channels") or (),
        entities=source.get("entities"), exclude=source.get("exclude"),
        csv=_csv(source.get("csv"), f"{where}.csv"))


def _paths(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str | Path) else value
    if not isinstance(items, list | tuple) or not items or not all(isinstance(i, str | Path) for i in items):
        raise ValueError(f"{where} must be a path (file, folder or glob) or a list of file paths, got {value!r}")
    return tuple(str(i) for i in items)


def _split(value: Any, where: str) -> SplitSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("fraction", "at"):
        raise ValueError(f"{where} must be {{fraction: f}} or {{at: time or step}}, got {value!r}")
    if "fraction" in value:
        fraction = value["fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
            raise ValueError(f"{where}.fraction must be a number in (0, 1), got {fraction!r}")
        return SplitSpec(fraction=float(fraction))
    return SplitSpec(at=value["at"])


def _time(value: Any, where: str) -> TimeSpec:
    if value is None:
        return TimeSpec()
    if isinstance(value, str):
        return TimeSpec(column=value.strip())
    if not isinstance(value, Mapping) or not isinstance(value.get("column"), str):
        raise ValueError(f"{where} must be a column name, {{column, format, unit, kind}} or null, got {value!r}")
    unknown = sorted(set(value) - {"column", "format", "unit", "kind"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: column, format, unit, kind")
    kind = value.get("kind", "timestamp")
    if kind not in ("timestamp", "step"):
        raise ValueError(f"{where}.kind must be timestamp or step, got {kind!r}")
    unit = value.get("unit")
    if unit not in (None, "s", "ms", "us", "ns"):
        raise ValueError(f"{where}.unit must be s, ms, us or ns (epoch numbers), got {unit!r}")
    if kind == "step" and (unit or value.get("format")):
        raise ValueError(f"{where}: a step column takes neither format nor unit")
    return TimeSpec(column=value["column"].strip(), kind=kind, format=value.get("format"), unit=unit)


def _label(value: Any, where: str) -> LabelSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        return LabelSpec(column=value.strip(), shown="anomaly [1], normal [0]")
    if not isinstance(value, Mapping) or not isinstance(value.get("column"), str):
        raise ValueError(f"{where} must be a column name, {{column, anomaly, normal}} or null, got {value!r}")
    unknown = sorted(set(value) - {"column", "anomaly", "normal"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: column, anomaly, normal")
    anomaly, normal = value.get("anomaly", [1]), value.get("normal", [0])
    anomaly, normal = ([v] if not isinstance(v, list | tuple) else list(v) for v in (anomaly, normal))
    if not anomaly:
        raise ValueError(f"{where}.anomaly: give at least one value")
    both = {canonical_value(v) for v in anomaly} & {canonical_value(v) for v in normal}
    if both:
        raise ValueError(f"{where}: {sorted(both)} declared both anomalous and normal")
    return LabelSpec(column=value["column"].strip(), anomaly=tuple(canonical_value(v) for v in anomaly),
                     normal=tuple(canonical_value(v) for v in normal), shown=f"anomaly {anomaly}, normal {normal}")


def _names(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value.split() if isinstance(value, str) else value  # --params cannot hold a comma
    if not isinstance(items, list | tuple) or not items:
        raise ValueError(f"{where} must be a list of column names or patterns (or null), got {value!r}")
    return tuple(str(i).strip() for i in items)


def _csv(value: Any, where: str) -> CsvSpec:
    value = dict(value or {})
    unknown = sorted(set(value) - {"sep", "decimal", "encoding", "skip_lines"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: sep, decimal, encoding, skip_lines")
    spec = CsvSpec(**value)
    if spec.sep is not None and len(spec.sep) != 1 or spec.decimal not in (".", ","):
        raise ValueError(f"{where}: sep must be one character and decimal '.' or ',', got {value}")
    if not isinstance(spec.skip_lines, int) or spec.skip_lines < 0:
        raise ValueError(f"{where}.skip_lines must be a whole number >= 0, got {spec.skip_lines!r}")
    return spec


def canonical_value(value: Any) -> str:
    """A label value as comparable text: numbers by value (``1``, ``1.0`` and ``"1"`` agree), booleans as
    ``true``/``false``, other text stripped and case-folded (``Attack`` and ``attack`` agree)."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            return text.casefold()
    if math.isfinite(number) and number == int(number):
        return str(int(number))
    return repr(number)


# --------------------------------------------------------------------------------------------------- files
@dataclass(frozen=True)
class Layout:
    """Where one side's data is: a single series in one or more pieces, or one file per entity."""

    multi: bool
    files: dict[str, list[Path]]  # entity ("" for a single series) -> its files, in order
    location: str


def list_files(paths: Sequence[str], spec: TableSpec, key: str) -> Layout:
    """Find the files of ``paths`` (a ``TableSpec.train``/``test``), without reading them.

    Raises:
        DataFormatError: A missing file or folder, a glob or folder with no data file, a folder inside a list,
            or two files with the same entity name (``a.csv`` and ``a.parquet``), naming the configuration key.
    """
    suffixes = _suffixes(spec.format)
    if len(paths) == 1 and (Path(paths[0]).is_dir() or _PATTERN_CHARACTERS & set(paths[0])):
        found = _entity_files(paths[0], suffixes, spec.format, key)
        return Layout(multi=True, files={name: [path] for name, path in found.items()}, location=paths[0])
    pieces: list[Path] = []
    for item in paths:
        matches = sorted(glob.glob(item), key=natural_key) if _PATTERN_CHARACTERS & set(item) else [item]
        if not matches:
            raise DataFormatError(f"{item}: no file matches ({key})")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                raise DataFormatError(f"{path}: a folder inside a list of files ({key}); give the folder alone "
                                      "for one entity per file")
            if not path.exists():
                raise DataFormatError(f"{path}: file not found ({key}; relative paths start at the project root)")
            pieces.append(path)
    return Layout(multi=False, files={SINGLE: pieces}, location=" + ".join(map(str, pieces)))


def _suffixes(file_format: str | None) -> tuple[str, ...]:
    return {"csv": CSV_SUFFIXES, "parquet": PARQUET_SUFFIXES}.get(file_format or "", CSV_SUFFIXES + PARQUET_SUFFIXES)


def _entity_files(location: str, suffixes: tuple[str, ...], file_format: str | None, key: str) -> dict[str, Path]:
    folder = Path(location)
    if folder.is_dir():
        candidates = [p for p in folder.iterdir() if p.is_file()]
        # a format named explicitly reads every file of the folder, whatever its suffix
        candidates = [p for p in candidates if file_format or p.name.lower().endswith(suffixes)]
    else:
        if not folder.parent.exists():
            raise DataFormatError(f"{folder.parent}: folder not found ({key})")
        candidates = [Path(p) for p in glob.glob(location) if Path(p).is_file()]
    found: dict[str, Path] = {}
    for path in candidates:
        name = _stem(path.name, suffixes)
        if name in found:
            raise DataFormatError(f"{location}: both {found[name].name} and {path.name} would be entity {name!r}; "
                                  f"keep one of them ({key})")
        found[name] = path
    if not found:
        raise DataFormatError(f"{location}: no data file ({', '.join(suffixes)}) found ({key})")
    return {name: found[name] for name in sorted(found, key=natural_key)}


def _stem(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def file_format_of(path: Path, spec: TableSpec) -> str:
    """``csv`` or ``parquet``: the configured format, else the file's suffix."""
    if spec.format:
        return spec.format
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise DataFormatError(f"{path}: unknown file type; name it .csv, .csv.gz, .txt, .tsv or .parquet, or set "
                          f"{spec.key('format')}")


# --------------------------------------------------------------------------------------------------- reading
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
        row; None for Parquet), ``time``, ``label`` (the column names found, or None) and ``channels``.

    Raises:
        DataFormatError: An empty file, a missing declared column, a row of the wrong width, a non-number in a
            channel, or no numeric channel at all, naming the file, the column and a row.
    """
    reader = _read_parquet if file_format_of(path, spec) == "parquet" else _read_csv
    frame = reader(check_file(path), spec)
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
                              f"{_preview(names)}")
    label = spec.label.column if spec.label and spec.label.column in names else None
    candidates = [n for n in names if n not in (time, label)]
    unnamed = [n for n in candidates if n.startswith("unnamed_")]
    channels = None
    if spec.channels is not None:
        channels = _match(spec.channels, candidates, path, spec.key("channels"))
    excluded = set(_match(spec.exclude_channels, candidates, path, spec.key("exclude_channels"))) \
        if spec.exclude_channels else set()
    if channels is not None:
        channels = [c for c in channels if c not in excluded]
    candidates = [c for c in candidates if c not in excluded]
    return _Columns(time=time, label=label, channels=channels, candidates=candidates, unnamed=unnamed)


def _match(items: Sequence[str], names: list[str], path: Path, key: str) -> list[str]:
    """The names (in file order) matched by exact names or shell patterns; each item must match something."""
    chosen: set[str] = set()
    for item in items:
        matches = fnmatch.filter(names, item) if _PATTERN_CHARACTERS & set(item) else [item] if item in names else []
        if not matches:
            raise DataFormatError(f"{path}: {key} names {item!r}, which matches no column; the columns are "
                                  f"{_preview(names)}")
        chosen.update(matches)
    return [n for n in names if n in chosen]


def _header(path: Path, spec: TableSpec, sep: str) -> list[str]:
    lines = head_lines(path, spec.csv.skip_lines + 1, encoding=spec.csv.encoding)
    if len(lines) <= spec.csv.skip_lines or not lines[-1].strip():
        raise DataFormatError(f"{path}: no header on line {spec.csv.skip_lines + 1}")
    raw = next(csv.reader([lines[-1]], delimiter=sep), [])
    # An empty name is usually a written-out index (pandas' to_csv): it gets a name and is never a channel
    # unless named in channels.
    return [n.strip() or f"unnamed_{i + 1}" for i, n in enumerate(raw)]


def _read_csv(path: Path, spec: TableSpec) -> pd.DataFrame:
    options = spec.csv
    sep = options.sep or ("\t" if ".tsv" in path.name.lower() else ",")
    names = _header(path, spec, sep)
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
    return _finish(frame, path, columns, channels, left_out, first_line=first_line, spec=spec)


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
    return _finish(frame, path, columns, channels, left_out, first_line=None, spec=spec)


def _finish(frame: pd.DataFrame, path: Path, columns: _Columns, channels: list[str], left_out: list[str], *,
            first_line: int | None, spec: TableSpec) -> pd.DataFrame:
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
            raise DataFormatError(f"{path}: column {column!r}, {_where(first_line, row)}: {values.iloc[row]!r} is not "
                                  "a number" + ("" if explicit else f" (the column is otherwise numeric; fix the "
                                                f"cell, or leave the column out with {spec.key('exclude_channels')})"))
        left_out.append(column)
    channels = [c for c in channels if c in numbers]
    if not channels:
        shown = {c: frame[c].iloc[0] for c in left_out[:6]}
        raise DataFormatError(f"{path}: no numeric channel; columns {_preview(left_out)} hold text, dates or "
                              f"unnamed indexes ({_where(first_line, 0)}: {shown})"
                              + (f"; the time column is {columns.time!r}" if columns.time else ""))
    if left_out:
        logger.info("%s: left out %d column(s) that are not numeric channels: %s", path, len(left_out),
                    _preview(left_out))
    out = pd.DataFrame(numbers, index=pd.RangeIndex(len(frame)))
    if columns.time:
        out.insert(0, columns.time, frame[columns.time].to_numpy())
    if columns.label:
        out[columns.label] = frame[columns.label].to_numpy()
    out.attrs = {"source": str(path), "first_line": first_line, "time": columns.time, "label": columns.label,
                 "channels": channels}
    return out


def _where(first_line: int | None, row: int) -> str:
    return f"row {row}" if first_line is None else f"line {first_line + row}"


def _preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown} ... ({len(names)} in all)]" if len(names) > limit else f"[{shown}]"


# --------------------------------------------------------------------------------------------------- typing
def type_cells(cells: pd.DataFrame, spec: TableSpec, *, labelled: bool) -> pd.DataFrame:
    """One file's cells as a typed frame (``tsad.core.frames``) with a flat time index.

    Args:
        cells: ``read_cells``' output.
        spec: The source settings.
        labelled: Keep the label column (test and training data); False for new data to score.

    Raises:
        DataFormatError: A timestamp that does not parse, a duplicated or unsorted time, or a label outside the
            declared values, naming the file, the column, the line and the value.
    """
    source, first_line, attrs = cells.attrs["source"], cells.attrs["first_line"], cells.attrs
    index = _time_index(cells, spec, source, first_line)
    out = pd.DataFrame({c: cells[c].to_numpy(dtype=np.float32) for c in attrs["channels"]}, index=index)
    if labelled and attrs["label"]:
        out[LABEL] = _labels(cells[attrs["label"]], spec, source, first_line)
    out.attrs = {"source": source, "first_line": first_line}
    return out


def _time_index(cells: pd.DataFrame, spec: TableSpec, source: str, first_line: int | None) -> pd.Index:
    column = cells.attrs["time"]
    if column is None:  # the row number, from 0 in every file
        return pd.Index(np.arange(len(cells), dtype=np.int64), name="step")
    values = cells[column]
    if spec.time.kind == "step":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        row = first_bad_row(~np.isfinite(numbers) | (numbers != np.round(numbers)))
        if row is not None:
            raise DataFormatError(f"{source}: column {column!r}, {_where(first_line, row)}: {values.iloc[row]!r} is "
                                  f"not a whole-number step ({spec.key('timestamp')} has kind: step)")
        index = pd.Index(numbers.astype(np.int64), name="step")
    else:
        index = pd.DatetimeIndex(_parse_times(values, spec, source, first_line), name="timestamp")
    order = np.diff(index.asi8 if isinstance(index, pd.DatetimeIndex) else index.to_numpy())
    row = first_bad_row(order <= 0)
    if row is not None:
        kind = "duplicated" if order[row] == 0 else "unsorted"
        raise DataFormatError(f"{source}: column {column!r}, {_where(first_line, row + 1)}: {kind} time "
                              f"{values.iloc[row + 1]!r} after {values.iloc[row]!r} on the row before; times must "
                              "increase strictly (one row per time)")
    return index


def _parse_times(values: pd.Series, spec: TableSpec, source: str, first_line: int | None) -> pd.DatetimeIndex:
    column, unit, time_format = values.name, spec.time.unit, spec.time.format
    if unit is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        row = first_bad_row(numbers.isna().to_numpy())
        if row is not None:
            raise DataFormatError(f"{source}: column {column!r}, {_where(first_line, row)}: {values.iloc[row]!r} is "
                                  f"not an epoch time in {unit}")
        return pd.DatetimeIndex(pd.to_datetime(numbers, unit=unit))
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.DatetimeIndex(values)
    elif pd.api.types.is_numeric_dtype(values):
        raise DataFormatError(f"{source}: column {column!r}, {_where(first_line, 0)}: {values.iloc[0]!r} is a "
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
            raise DataFormatError(f"{source}: column {column!r}, {_where(first_line, row)}: cannot parse "
                                  f"{values.iloc[row]!r} as a timestamp {how}")
        # Times with a UTC offset become UTC; times without one keep their wall-clock value.
        stamps = pd.DatetimeIndex(parsed).tz_convert(None)
    if stamps.tz is not None:
        stamps = stamps.tz_convert(None)
    row = first_bad_row(stamps.isna())
    if row is not None:
        raise DataFormatError(f"{source}: column {column!r}, {_where(first_line, row)}: missing timestamp")
    return stamps.as_unit("ns")


def _labels(values: pd.Series, spec: TableSpec, source: str, first_line: int | None) -> np.ndarray:
    assert spec.label is not None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # few distinct values: canonicalise those only
    canonical = [canonical_value(u) for u in uniques]
    anomalous = np.array([c in spec.label.anomaly for c in canonical] + [False])
    known = np.array([c in spec.label.anomaly or c in spec.label.normal for c in canonical] + [False])
    row = first_bad_row(~known[codes])  # code -1 (a missing label) picks the trailing False
    if row is not None:
        raise DataFormatError(f"{source}: column {spec.label.column!r}, {_where(first_line, row)}: label "
                              f"{values.iloc[row]!r} is not one of the declared values ({spec.label.shown}; "
                              f"{spec.key('label')})")
    return anomalous[codes].astype(np.int8)


def read_series(files: Sequence[Path], spec: TableSpec, *, labelled: bool = True) -> pd.DataFrame:
    """A series from one file or several pieces in time order, typed (flat index).

    Raises:
        DataFormatError: Any file's error; pieces that overlap in time or differ in channels or labels.
    """
    parts = [type_cells(read_cells(path, spec), spec, labelled=labelled) for path in files]
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    for previous, part in zip(parts, parts[1:], strict=False):
        _check_same_channels(first, part)
        if (LABEL in first.columns) != (LABEL in part.columns):
            raise DataFormatError(f"{part.attrs['source']}: {'no' if LABEL in first.columns else 'a'} label column, "
                                  f"unlike {first.attrs['source']}; pieces of one series must agree")
        if spec.time.column is None:  # row numbers continue from one piece to the next
            part.index = pd.Index(part.index.to_numpy() + previous.index[-1] + 1, name="step")
        elif part.index[0] <= previous.index[-1]:
            raise DataFormatError(f"{part.attrs['source']}: {_where(part.attrs['first_line'], 0)}: time "
                                  f"{part.index[0]} is not after {previous.index[-1]}, the last time of "
                                  f"{previous.attrs['source']}; list the pieces in time order")
    frame = pd.concat([p[list(first.columns)] for p in parts])
    frame.attrs = {"source": " + ".join(p.attrs["source"] for p in parts), "first_line": first.attrs["first_line"]}
    return frame


def cut_series(frame: pd.DataFrame, split: SplitSpec, side: str, spec: TableSpec) -> pd.DataFrame:
    """The training (leading) or test part of a series cut by ``split``.

    Raises:
        DataFormatError: A part would be empty, or ``at`` is not a time (steps: an integer), naming the file.
    """
    source = frame.attrs.get("source", spec.dataset)
    if split.fraction is not None:
        cut = int(np.floor(split.fraction * len(frame)))
        what = f"fraction {split.fraction}"
    else:
        try:
            at = pd.Timestamp(split.at) if isinstance(frame.index, pd.DatetimeIndex) else int(split.at)
        except (ValueError, TypeError) as error:
            raise DataFormatError(f"{spec.key('split')}.at: {split.at!r} is not a "
                                  f"{'time' if isinstance(frame.index, pd.DatetimeIndex) else 'whole-number step'} "
                                  f"(the time index of {source})") from error
        cut = int(frame.index.searchsorted(at))
        what = f"at {split.at}"
    if cut == 0 or cut == len(frame):
        raise DataFormatError(f"{source}: {len(frame)} rows from {frame.index[0]} to {frame.index[-1]}; the split "
                              f"{what} leaves no {'training' if cut == 0 else 'test'} rows ({spec.key('split')})")
    part = frame.iloc[:cut] if side == "train" else frame.iloc[cut:]
    first_line = frame.attrs.get("first_line")
    part.attrs = {**frame.attrs, "first_line": None if first_line is None or side == "train" else first_line + cut}
    return part


# --------------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class TableSource(EntitySource):
    """One side (training or test) of a declared dataset, listed but not read.

    Attributes:
        multi: One entity per file (a folder or a glob); False for a single series.
        entities: The ``entities`` setting (names or patterns; null: every entity with both sides).
        exclude: The ``exclude`` setting.
        key: The configuration key of these files, for messages.
        label: The declared label column (None: the dataset is unlabelled).
    """

    multi: bool = False
    entities: Any = None
    exclude: Any = None
    key: str = ""
    label: str | None = None


def table_source(spec: TableSpec, side: str) -> TableSource:
    """List one side's files as lazy per-entity readers of typed frames (the split applied when configured)."""
    if side not in ("train", "test"):
        raise ValueError(f"side must be train or test, got {side!r}")
    paths, key = (spec.test, spec.key("test")) if side == "test" and spec.test is not None else \
        (spec.train, spec.key("train"))
    layout = list_files(paths, spec, key)

    def reader(files: list[Path]) -> Callable[[], pd.DataFrame]:
        def read() -> pd.DataFrame:
            frame = read_series(files, spec)
            return cut_series(frame, spec.split, side, spec) if spec.split is not None else frame
        return read

    return TableSource(location=layout.location, readers={e: reader(f) for e, f in layout.files.items()},
                       multi=layout.multi, entities=spec.entities, exclude=spec.exclude, key=key,
                       label=spec.label.column if spec.label else None)


def table_model_input(spec: TableSpec, paths: Sequence[str] | None = None) -> pd.DataFrame:
    """New data to score, as the rows a registered model of this dataset takes (``tsad.serving``).

    Args:
        spec: The dataset's source settings (how files are read; labels are ignored if present).
        paths: The file(s), folder or glob to score; default: the test files (the training files when the
            dataset is split in time, read whole).

    Returns:
        ``timestamp`` (or ``step``), ``entity`` for one-entity-per-file data, and the channels as float64.
    """
    from tsad.serving import input_format, rows_from_frame

    paths = tuple(paths) if paths else (spec.test or spec.train)
    layout = list_files(paths, spec, "new_data")
    frames = {entity: read_series(files, spec, labelled=False) for entity, files in layout.files.items()}
    frame = pd.concat(frames, names=[ENTITY]) if layout.multi else frames[SINGLE]
    return rows_from_frame(frame, input_format(frame))


# --------------------------------------------------------------------------------------------------- ingest node
def ingest_table(source_train: TableSource, source_test: TableSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ingest node of a dataset declared in configuration: both sides as typed frames.

    Selects the entities (``entities``/``exclude``; by default every entity with training and test files), reads
    them, checks that every file has the training data's channels (the test files' columns are put in the
    training order) and that a side is labelled in all its files or in none, and returns flat frames for a single
    series or ``(entity, time)`` frames for one entity per file.

    Raises:
        DataFormatError: A file's own error (see ``read_cells`` and ``type_cells``), channels that differ
            between files (naming the file, the column and a row), or a side labelled in some files only.
    """
    if source_train.multi != source_test.multi:
        raise DataFormatError(f"{source_test.location}: {'one entity per file' if source_test.multi else 'one series'}"
                              f", but the training data ({source_train.location}) is "
                              f"{'one entity per file' if source_train.multi else 'one series'}; give both as files "
                              "or both as folders (globs)")
    selected = select_entities(source_train, source_test, source_train.entities, source_train.exclude,
                               parameter=source_train.key.rsplit(".", 1)[0] + ".entities") \
        if source_train.multi else [SINGLE]
    trains, tests = read_selected(source_train, selected), read_selected(source_test, selected)
    reference = next(iter(trains.values()))
    for parts in (trains, tests):
        for entity, part in parts.items():
            parts[entity] = _check_same_channels(reference, part)
        _check_labels_everywhere(parts)
    if source_test.label and LABEL not in next(iter(tests.values())).columns:
        unlabelled = next(iter(tests.values()))
        raise DataFormatError(f"{unlabelled.attrs.get('source')}: no label column {source_test.label!r} "
                              f"({source_test.key.rsplit('.', 1)[0]}.label); the test data must carry the declared "
                              "label column (leave label out for unlabelled data)")
    raw_train = join_entities(trains) if not source_train.multi else pd.concat(trains, names=[ENTITY])
    raw_test = join_entities(tests) if not source_test.multi else pd.concat(tests, names=[ENTITY])
    raw_train.attrs, raw_test.attrs = {"source": source_train.location}, {"source": source_test.location}
    validate_typed_frame(raw_train, source_train.location)
    validate_typed_frame(raw_test, source_test.location)
    logger.info("%s: %d training and %d test rows, %d channels%s; test data %s", source_test.location,
                len(raw_train), len(raw_test), len(channel_columns(reference)),
                f", {len(selected)} entities" if source_train.multi else "",
                "labelled" if LABEL in raw_test.columns else "unlabelled")
    return raw_train, raw_test


def _check_same_channels(reference: pd.DataFrame, part: pd.DataFrame) -> pd.DataFrame:
    """``part`` with ``reference``'s channels in its order; a missing or extra channel is an error."""
    expected, found = channel_columns(reference), channel_columns(part)
    if found == expected:
        return part
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing or extra:
        ref_source, source = reference.attrs.get("source"), part.attrs.get("source")
        if extra:
            column = extra[0]
            example = f"{_where(part.attrs.get('first_line'), 0)} of {source} has {column}={part[column].iloc[0]!r}"
        else:
            column = missing[0]
            example = f"{_where(reference.attrs.get('first_line'), 0)} of {ref_source} has " \
                      f"{column}={reference[column].iloc[0]!r}"
        raise DataFormatError(f"{source}: channels differ from {ref_source}: column {column!r} is "
                              f"{'not in' if extra else 'missing from'} {source if missing else ref_source} "
                              f"({example}); missing {missing}, extra {extra}. Every file needs the same channels "
                              "(select them with channels / exclude_channels)")
    out = part[expected + ([LABEL] if LABEL in part.columns else [])]
    out.attrs = dict(part.attrs)
    return out


def _check_labels_everywhere(parts: dict[str, pd.DataFrame]) -> None:
    labelled = [e for e, p in parts.items() if LABEL in p.columns]
    if labelled and len(labelled) != len(parts):
        unlabelled = next(p for p in parts.values() if LABEL not in p.columns)
        with_label = parts[labelled[0]]
        raise DataFormatError(f"{unlabelled.attrs.get('source')}: no label column, but {with_label.attrs.get('source')}"
                              " has one; label every file of a side or none")
