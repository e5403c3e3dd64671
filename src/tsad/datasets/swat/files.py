"""SWaT (iTrust, SUTD) files as distributed: Normal v0/v1 and Attack v0, as .xlsx or CSV exports.

The physical-layer files hold ``' Timestamp'`` (leading space), the 51 tags in a fixed order (seven of them
with a leading space in the header) and the ``'Normal/Attack'`` label. The .xlsx sheets carry a group-header
row above the names; some CSV exports keep that row, use ``;`` separators and decimal commas, and one label
is misspelt ``'A ttack'``. Reading is split in two so that errors can name the file and line:
``read_swat_export`` returns the cells as text with their provenance in ``DataFrame.attrs``, and
``parse_swat_frame`` types them (float32 tags, int8 label, timestamp index).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tsad.core.errors import DataFormatError, first_bad_row
from tsad.core.frames import beyond_float32

logger = logging.getLogger(__name__)

SWAT_STAGES: dict[str, tuple[str, ...]] = {
    "P1": ("FIT101", "LIT101", "MV101", "P101", "P102"),
    "P2": ("AIT201", "AIT202", "AIT203", "FIT201", "MV201", "P201", "P202", "P203", "P204", "P205", "P206"),
    "P3": ("DPIT301", "FIT301", "LIT301", "MV301", "MV302", "MV303", "MV304", "P301", "P302"),
    "P4": ("AIT401", "AIT402", "FIT401", "LIT401", "P401", "P402", "P403", "P404", "UV401"),
    "P5": ("AIT501", "AIT502", "AIT503", "AIT504", "FIT501", "FIT502", "FIT503", "FIT504", "P501", "P502",
           "PIT501", "PIT502", "PIT503"),
    "P6": ("FIT601", "P601", "P602", "P603"),
}
SWAT_TAGS: tuple[str, ...] = tuple(tag for tags in SWAT_STAGES.values() for tag in tags)
# Actuators: pumps and UV use 1 = off, 2 = on; motorised valves 0 = in transition, 1 = closed, 2 = open.
SWAT_ACTUATORS: tuple[str, ...] = tuple(
    t for t in SWAT_TAGS if t.startswith(("MV", "P", "UV")) and not t.startswith("PIT")
)
TIMESTAMP_COLUMN = "Timestamp"
LABEL_COLUMN = "Normal/Attack"
# The distributed header carries a leading space on the timestamp and on these seven tags.
_SPACED_TAGS = frozenset({"MV101", "AIT201", "MV201", "P201", "P202", "P204", "MV303"})
SWAT_RAW_HEADER: tuple[str, ...] = (
    " Timestamp", *(f" {t}" if t in _SPACED_TAGS else t for t in SWAT_TAGS), LABEL_COLUMN,
)
TIMESTAMP_FORMAT = "%d/%m/%Y %I:%M:%S %p"
# Label text -> int8, compared after removing all whitespace and case ("A ttack" is an attack).
_LABELS = {"normal": 0, "attack": 1}


def read_swat_export(path: str | Path) -> pd.DataFrame:
    """Read a SWaT .xlsx sheet or CSV export as text cells.

    Finds the header row among the first rows (skipping a group-header row), detects the CSV separator,
    strips the column names and drops columns that are entirely empty.

    Args:
        path: A ``.xlsx``, ``.csv`` or ``.csv.gz`` file as distributed by iTrust or exported from it.

    Returns:
        A DataFrame of strings with stripped column names. ``attrs["source"]`` holds the path,
        ``attrs["first_line"]`` the 1-based file line (or sheet row) of the first data row and ``attrs["notes"]``
        what was accepted beyond the plain layout (a ``;`` separator, a byte-order mark, a group-header row), each
        also logged.

    Raises:
        DataFormatError: The file is empty or has no SWaT header row.
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty")
    notes: list[str] = []
    if path.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
        cells = pd.read_excel(path, header=None, dtype=object)
        cells = cells.map(_excel_cell_text)
    else:
        head = _head(path)
        sep = ";" if head.count(";") > head.count(",") else ","
        if sep != ",":
            _note(notes, f"{path}: {sep!r}-separated (detected)")
        if head.startswith("\ufeff"):  # pandas drops it from the first name; said here
            _note(notes, f"{path}: a UTF-8 byte-order mark at the start of the file, ignored")
        cells = pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL)
    header_row = _find_header_row(cells, path)
    if header_row and path.suffix.lower() not in {".xlsx", ".xlsm", ".xls"}:  # the sheets all have one
        _note(notes, f"{path}: {header_row} line(s) above the header (a group-header row), skipped")
    names = [str(c).lstrip("\ufeff").strip() for c in cells.iloc[header_row]]
    frame = cells.iloc[header_row + 1:].reset_index(drop=True)
    frame.columns = names
    frame = _drop_blank_columns(frame)
    filled = np.flatnonzero(~(frame == "").all(axis=1).to_numpy())
    frame = frame.iloc[: filled[-1] + 1 if len(filled) else 0]  # trailing blank lines
    frame.attrs = {"source": str(path), "first_line": header_row + 2, "notes": notes}
    if frame.empty:
        raise DataFormatError(f"{path}: the file has a header but no data rows")
    return frame


def parse_swat_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Type the text cells of a SWaT export.

    Args:
        frame: Output of ``read_swat_export`` (or any frame of text cells with the SWaT column names).

    Returns:
        A new DataFrame indexed by ``timestamp`` (strictly increasing), with the 51 tags as float32 in SWaT
        order and ``label`` as int8 (1 = attack, including the ``'A ttack'`` typo). ``attrs``: ``source`` and
        ``notes`` (the reader's, plus columns ignored and decimal commas read, each also logged).

    Raises:
        DataFormatError: A missing column, an empty file, an unparseable timestamp, a duplicated or
            unsorted timestamp, a non-numeric tag value, a value beyond float32's range or an unknown label,
            naming file, column and line.
    """
    source = frame.attrs.get("source", "<frame>")
    first_line = int(frame.attrs.get("first_line", 2))
    notes = list(frame.attrs.get("notes", []))
    columns = [str(c).strip() for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    missing = [c for c in (TIMESTAMP_COLUMN, *SWAT_TAGS, LABEL_COLUMN) if c not in columns]
    if missing:
        raise DataFormatError(f"{source}: missing column(s) {missing}; a SWaT file has "
                              f"'{TIMESTAMP_COLUMN}', the 51 tags in SWaT order and '{LABEL_COLUMN}'")
    if len(frame) == 0:
        raise DataFormatError(f"{source}: no data rows")
    ignored = [c for c in columns if c not in (TIMESTAMP_COLUMN, *SWAT_TAGS, LABEL_COLUMN)]
    if ignored:
        _note(notes, f"{source}: ignored column(s) {ignored}, which are not SWaT's")

    def line(i: int) -> int:
        return first_line + i

    text = frame[TIMESTAMP_COLUMN].astype(str).str.strip()
    stamps = parse_swat_timestamps(text)
    bad = first_bad_row(stamps.isna())
    if bad is not None:
        raise DataFormatError(f"{source}: column '{TIMESTAMP_COLUMN}', line {line(bad)}: cannot parse "
                              f"{text.iloc[bad]!r} as dd/mm/yyyy h:mm:ss AM/PM")
    steps = np.diff(stamps.to_numpy().astype("datetime64[ns]").astype(np.int64))
    bad = first_bad_row(steps == 0)
    if bad is not None:
        raise DataFormatError(f"{source}: column '{TIMESTAMP_COLUMN}', line {line(bad + 1)}: duplicated "
                              f"timestamp {text.iloc[bad + 1]!r} (same as line {line(bad)})")
    bad = first_bad_row(steps < 0)
    if bad is not None:
        raise DataFormatError(f"{source}: column '{TIMESTAMP_COLUMN}', line {line(bad + 1)}: timestamp "
                              f"{text.iloc[bad + 1]!r} is earlier than {text.iloc[bad]!r} on line {line(bad)}; "
                              "rows must be sorted in time")

    values, commas = {}, []
    for tag in SWAT_TAGS:
        cells = frame[tag].astype(str).str.strip()
        comma = cells.str.contains(",", regex=False).to_numpy()
        if comma.any():
            commas.append((tag, int(np.argmax(comma))))
        numbers = pd.to_numeric(cells.str.replace(",", ".", regex=False), errors="coerce")
        bad = first_bad_row((numbers.isna() & (cells != "") & (cells.str.lower() != "nan")).to_numpy())
        if bad is not None:
            raise DataFormatError(f"{source}: column '{tag}', line {line(bad)}: {cells.iloc[bad]!r} is not a number")
        bad = first_bad_row(beyond_float32(numbers.to_numpy(dtype=np.float64), cells))
        if bad is not None:
            raise DataFormatError(f"{source}: column '{tag}', line {line(bad)}: {cells.iloc[bad]!r} is beyond the "
                                  f"range of float32 (±{np.finfo(np.float32).max:.3g}), the type of tag values")
        values[tag] = numbers.to_numpy(dtype=np.float32)
    if commas:
        tag, row = commas[0]
        _note(notes, f"{source}: decimal commas read as decimal points in {len(commas)} column(s) (such as "
                     f"{tag!r}, line {line(row)}: {frame[tag].iloc[row]!r})")

    label_text = frame[LABEL_COLUMN].astype(str)
    keys = label_text.str.replace(r"\s+", "", regex=True).str.lower()
    labels = keys.map(_LABELS)
    bad = first_bad_row(labels.isna().to_numpy())
    if bad is not None:
        raise DataFormatError(f"{source}: column '{LABEL_COLUMN}', line {line(bad)}: unknown label "
                              f"{label_text.iloc[bad]!r}; expected 'Normal' or 'Attack'")
    typed = pd.DataFrame(values, index=stamps)
    typed["label"] = labels.to_numpy(dtype=np.int8)
    typed.attrs = {"source": source, "notes": notes}
    return typed


# What TIMESTAMP_FORMAT reads: unpadded day, month and 12-hour clock, AM/PM in any case, blanks around.
_TIMESTAMP_PATTERN = (r"^\s*(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4}) (?P<hour>\d{1,2}):(?P<minute>\d{1,2}):"
                      r"(?P<second>\d{1,2}) (?P<noon>[AaPp])[Mm]\s*$")


def parse_swat_timestamps(text: pd.Series) -> pd.DatetimeIndex:
    """SWaT's text timestamps (``TIMESTAMP_FORMAT``), NaT where a cell is not one or names no real time.

    As strict as ``pd.to_datetime(text, format=TIMESTAMP_FORMAT)`` and about 4x faster (a regex in Arrow, then
    the fields assembled by pandas, which refuses impossible dates such as 29/2/2015), which matters to a
    registered model scoring raw rows.
    """

    try:
        cells = pa.array(text, type=pa.string(), from_pandas=True)  # no copy for pandas' own strings
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # cells that are not text (numbers, dates) never match
        cells = pa.array(text.astype(str), type=pa.string(), from_pandas=True)
    matched = pc.extract_regex(cells, _TIMESTAMP_PATTERN)
    found = matched.is_valid().to_numpy(zero_copy_only=False)
    fields = dict(zip([field.name for field in matched.type], matched.flatten()))  # null where not matched
    numbers = {name: pc.cast(fields[name], pa.int64()).fill_null(0).to_numpy()
               for name in ("year", "month", "day", "hour", "minute", "second")}
    hour12 = numbers["hour"]
    # strptime's ranges: hour 1-12 with %I, minute 0-59, second 0-61 (leap seconds roll over, as there)
    ok = found & (hour12 >= 1) & (hour12 <= 12) & (numbers["minute"] <= 59) & (numbers["second"] <= 61)
    pm = np.asarray(pc.equal(pc.utf8_upper(fields["noon"]), "P").fill_null(False))
    hour = hour12 % 12 + 12 * pm
    # The calendar in NumPy (no per-call pandas assembly, which dominates for the few rows a stream parses): the
    # month, then the day within it, refusing days the month does not have (29/2/2015), as pd.to_datetime does.
    month = numbers["month"]
    ok &= (month >= 1) & (month <= 12) & (numbers["day"] >= 1) & (numbers["year"] >= 1678) & (numbers["year"] <= 2261)
    first = ((np.where(ok, numbers["year"], 1970) - 1970) * 12 + np.where(ok, month, 1) - 1).astype("datetime64[M]")
    length = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)
    ok &= numbers["day"] <= length
    seconds = (np.where(ok, numbers["day"], 1) - 1) * 86_400 + hour * 3_600 + numbers["minute"] * 60 + \
        numbers["second"]
    stamps = first.astype("datetime64[us]") + (seconds * 1_000_000).astype("timedelta64[us]")  # pandas' own unit
    stamps[~ok] = np.datetime64("NaT")
    return pd.DatetimeIndex(stamps, name="timestamp")


def format_swat_timestamps(index: pd.DatetimeIndex) -> np.ndarray:
    """Timestamps as the raw files write them: ``' 2/1/2016 1:41:09 PM'`` (no zero padding of d, m, h)."""
    hour12 = (index.hour + 11) % 12 + 1
    noon = np.where(index.hour < 12, "AM", "PM")
    parts = [index.day.astype(str), "/", index.month.astype(str), "/", index.year.astype(str), " ",
             hour12.astype(str), ":", pd.Index(index.minute).map("{:02d}".format), ":",
             pd.Index(index.second).map("{:02d}".format), " ", noon]
    text = np.full(len(index), " ", dtype=object)
    for part in parts:
        text = text + np.asarray(part, dtype=object)
    return text


def to_swat_export(typed: pd.DataFrame) -> pd.DataFrame:
    """Lay out a typed SWaT frame with the distributed header, timestamp text and label words.

    Args:
        typed: Timestamp index, the 51 tags, and ``label`` as 0/1 or as label text (kept as given, so that
            a simulator can reproduce the ``'A ttack'`` typo).

    Returns:
        A new frame whose columns are ``SWAT_RAW_HEADER``; actuators are written as integers.
    """
    out = pd.DataFrame(index=range(len(typed)))
    out[SWAT_RAW_HEADER[0]] = format_swat_timestamps(pd.DatetimeIndex(typed.index))
    for raw, tag in zip(SWAT_RAW_HEADER[1:-1], SWAT_TAGS):
        column = typed[tag].to_numpy()
        if tag in SWAT_ACTUATORS and np.isfinite(column).all():
            column = np.rint(column).astype(np.int64)  # actuator states as the files write them: 1, 2
        out[raw] = column
    labels = typed["label"]
    if pd.api.types.is_numeric_dtype(labels):
        labels = np.where(labels.to_numpy() > 0, "Attack", "Normal")
    out[LABEL_COLUMN] = np.asarray(labels)
    return out


def write_swat_csv(typed: pd.DataFrame, path: str | Path, *, sep: str = ",", decimal: str = ".",
                   group_header: bool = False) -> None:
    """Write a typed SWaT frame as a CSV export (atomically: a temporary file, then a rename).

    Args:
        typed: See ``to_swat_export``.
        path: Destination file.
        sep: ``,`` (iTrust CSV) or ``;`` (the USAD/MTGFlow exports, with ``decimal=","``).
        decimal: Decimal mark of the floats.
        group_header: Write the stage group-header row above the names, as the .xlsx sheets have.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    export = to_swat_export(typed)
    tmp = path.with_name(f".tmp.{path.name}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(tmp, "wt", newline="", encoding="utf-8") as handle:
        if group_header:
            handle.write(sep.join(_group_header_row()) + "\n")
        export.to_csv(handle, sep=sep, decimal=decimal, index=False, float_format="%.7g", lineterminator="\n")
    tmp.replace(path)


def write_swat_xlsx(typed: pd.DataFrame, path: str | Path) -> None:
    """Write a typed SWaT frame as an .xlsx sheet with the group-header row, like the iTrust release."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    export = to_swat_export(typed)
    body = pd.DataFrame([list(export.columns), *export.itertuples(index=False, name=None)])
    sheet = pd.concat([pd.DataFrame([_group_header_row()]), body], ignore_index=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    sheet.to_excel(tmp, header=False, index=False)
    tmp.replace(path)


def _group_header_row() -> list[str]:
    row = [""]
    for stage, tags in SWAT_STAGES.items():
        row += [stage] + [""] * (len(tags) - 1)
    return row + [""]


def _head(path: Path) -> str:
    """The first three lines, for the separator and a byte-order mark."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readline() for _ in range(3))


def _note(notes: list[str], note: str) -> None:
    """Record something the reader accepted beyond the plain layout (the cleaning report shows them), and log it."""
    logger.info("%s", note)
    notes.append(note)


def _find_header_row(cells: pd.DataFrame, path: Path, search_rows: int = 5) -> int:
    for row in range(min(search_rows, len(cells))):
        names = {str(c).strip() for c in cells.iloc[row]}
        if TIMESTAMP_COLUMN in names or LABEL_COLUMN in names:
            return row
    raise DataFormatError(f"{path}: no header row with '{TIMESTAMP_COLUMN}' and '{LABEL_COLUMN}' in the first "
                          f"{search_rows} lines; is this a SWaT physical-layer file?")


def _drop_blank_columns(frame: pd.DataFrame) -> pd.DataFrame:
    keep = [not (name == "" and (frame.iloc[:, i] == "").all()) for i, name in enumerate(frame.columns)]
    return frame.iloc[:, keep]


def _excel_cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime):  # a sheet that stored real dates instead of SWaT's text timestamps
        return value.strftime(TIMESTAMP_FORMAT)
    return str(value)
