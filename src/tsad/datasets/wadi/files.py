"""WADI (iTrust, SUTD) files as distributed: the A1 (Oct 2017) and A2 (Nov 2019) releases.

Layouts (../shared/docs/datasets.md §8):

- A1 ``WADI_14days.csv`` (normal operation): a 4-line metadata preamble, the header on line 5.
  ``WADI_attackdata.csv``: the header on line 1 and **no label column**; labels come from the attack table
  (15 inclusive intervals, ``WADI_A1_ATTACKS``).
- Columns ``Row, Date, Time`` and the 127 tags named by OPC paths
  ``\\\\WIN-25J4RO10SBF\\LOG_DATA\\SUTD_WADI\\LOG_DATA\\<tag>``; ``Date`` is M/D/YYYY and ``Time`` looks like
  ``6:00:00.000 PM``. Four tags are always empty (``WADI_EMPTY_TAGS``) and other cells have NaN gaps.
- A2 ``WADI_14days_new.csv`` (header on line 1, plain tag names) and ``WADI_attackdataLABLE.csv`` (header on
  line 2, ``'Row '`` and ``'Date '`` with trailing spaces, label column
  ``'Attack LABLE (1:No Attack, -1:Attack)'`` where -1 is an attack).

``read_wadi_csv`` finds the header (whatever the preamble), checks the columns and reads the cells (tags as
float32, with NaN for empty cells); ``parse_wadi_frame`` builds the typed frame: a timestamp index from
Date + Time, the 123 non-empty tags as float32 in WADI order, and the int8 label from the label column or
from an attack table. Errors name the file, the column and the line.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from tsad.connectors.delimited import check_file, drop_trailing_blank_rows, head_lines, read_table, split_header
from tsad.core.errors import DataFormatError, first_bad_row

logger = logging.getLogger(__name__)

OPC_PREFIX = "\\\\WIN-25J4RO10SBF\\LOG_DATA\\SUTD_WADI\\LOG_DATA\\"
ROW_COLUMN, DATE_COLUMN, TIME_COLUMN = "Row", "Date", "Time"
A2_LABEL_COLUMN = "Attack LABLE (1:No Attack, -1:Attack)"
DATE_FORMAT = "%m/%d/%Y"
# The A1 files write "6:00:00.000 PM"; other exports drop the milliseconds or use a 24 h clock.
TIME_FORMATS = ("%I:%M:%S.%f %p", "%I:%M:%S %p", "%H:%M:%S.%f", "%H:%M:%S")
HEADER_SEARCH_LINES = 10


def _numbered(prefix: str, numbers: Sequence[int], suffixes: Sequence[str]) -> list[str]:
    return [f"{prefix}_{n:03d}_{s}" for n in numbers for s in suffixes]


def _wadi_tags() -> tuple[str, ...]:
    """The 127 tags in file order (datasets.md §8)."""
    hundreds = range(101, 602, 100)
    stage1 = [*_numbered("1_AIT", range(1, 6), ["PV"]), "1_FIT_001_PV", "1_LS_001_AL", "1_LS_002_AL",
              "1_LT_001_PV", *_numbered("1_MV", range(1, 5), ["STATUS"]), *_numbered("1_P", range(1, 7), ["STATUS"])]
    stage2 = ["2_DPIT_001_PV", *_numbered("2_FIC", hundreds, ["CO", "PV", "SP"]),
              *_numbered("2_FIT", range(1, 4), ["PV"]), *_numbered("2_FQ", hundreds, ["PV"]),
              "2_LS_001_AL", "2_LS_002_AL", *_numbered("2_LS", hundreds, ["AH", "AL"]),
              "2_LT_001_PV", "2_LT_002_PV", "2_MCV_007_CO", *_numbered("2_MCV", hundreds, ["CO"]),
              *_numbered("2_MV", range(1, 7), ["STATUS"]), "2_MV_009_STATUS", *_numbered("2_MV", hundreds, ["STATUS"]),
              "2_P_001_STATUS", "2_P_002_STATUS", "2_P_003_SPEED", "2_P_003_STATUS", "2_P_004_SPEED",
              "2_P_004_STATUS", *_numbered("2_PIC", [3], ["CO", "PV", "SP"]), *_numbered("2_PIT", range(1, 4), ["PV"]),
              *_numbered("2_SV", hundreds, ["STATUS"])]
    stage2ab = [*_numbered("2A_AIT", range(1, 5), ["PV"]), *_numbered("2B_AIT", range(1, 5), ["PV"])]
    stage3 = [*_numbered("3_AIT", range(1, 6), ["PV"]), "3_FIT_001_PV", "3_LS_001_AL", "3_LT_001_PV",
              *_numbered("3_MV", range(1, 4), ["STATUS"]), *_numbered("3_P", range(1, 5), ["STATUS"])]
    return (*stage1, *stage2, *stage2ab, *stage3, "LEAK_DIFF_PRESSURE", "PLANT_START_STOP_LOG",
            "TOTAL_CONS_REQUIRED_FLOW")


WADI_TAGS: tuple[str, ...] = _wadi_tags()
# Completely empty in every release; dropped so that 123 tags remain (datasets.md §8, TranAD's wadi_drop).
WADI_EMPTY_TAGS: tuple[str, ...] = ("2_LS_001_AL", "2_LS_002_AL", "2_P_001_STATUS", "2_P_002_STATUS")
WADI_CHANNELS: tuple[str, ...] = tuple(t for t in WADI_TAGS if t not in WADI_EMPTY_TAGS)

# The A1 attack table: 15 attacks on 9-11 Oct 2017 as 14 inclusive intervals (attacks 3 and 4 ran together),
# in the files' local time. Source: the intervals coded in MTGFlow's Dataset/wadi.py and CST-GL's
# generate_wadi_data (datasets.md §8, methods.md §7), with one correction: both date attack 9
# (10:55:00-10:56:27) 10 Oct, inside attack 3-4, so their labels lose it (5.71 % attack rows). The row
# indices that pwwl/ics-anomaly-detection's process_WADI.py reads off the real file (147296-147379 at 1 Hz
# from 9 Oct 18:00:00) put it on 11 Oct, which is what this table does (5.76 %). To reproduce the published
# labels exactly, give the dataset an attack table (``attacks_path``) with the 10 Oct date.
WADI_A1_ATTACKS: tuple[tuple[str, str], ...] = (
    ("2017-10-09 19:25:00", "2017-10-09 19:50:16"),  # 1
    ("2017-10-10 10:24:10", "2017-10-10 10:34:00"),  # 2
    ("2017-10-10 10:55:00", "2017-10-10 11:24:00"),  # 3 and 4
    ("2017-10-10 11:30:40", "2017-10-10 11:44:50"),  # 5
    ("2017-10-10 13:39:30", "2017-10-10 13:50:40"),  # 6
    ("2017-10-10 14:48:17", "2017-10-10 14:59:55"),  # 7
    ("2017-10-10 17:40:00", "2017-10-10 17:49:40"),  # 8
    ("2017-10-11 10:55:00", "2017-10-11 10:56:27"),  # 9
    ("2017-10-11 11:17:54", "2017-10-11 11:31:20"),  # 10
    ("2017-10-11 11:36:31", "2017-10-11 11:47:00"),  # 11
    ("2017-10-11 11:59:00", "2017-10-11 12:05:00"),  # 12
    ("2017-10-11 12:07:30", "2017-10-11 12:10:52"),  # 13
    ("2017-10-11 12:16:00", "2017-10-11 12:25:36"),  # 14
    ("2017-10-11 15:26:30", "2017-10-11 15:37:00"),  # 15
)
WADI_A1_ATTACK_TABLE: dict[str, Any] = {
    "source": "the WADI A1 attack table (tsad.datasets.wadi.files.WADI_A1_ATTACKS)",
    "intervals": [[f"entry {i}", start, end] for i, (start, end) in enumerate(WADI_A1_ATTACKS, start=1)],
}


# ------------------------------------------------------------------------------------------------ reading


def canonical_name(name: str) -> str:
    """A header field as a tag name: surrounding spaces removed and any OPC path prefix stripped."""
    name = str(name).strip()
    return name.rsplit("\\", 1)[-1].strip() if "\\" in name else name


def read_wadi_csv(path: str | Path, attacks_path: str | Path | None = None) -> pd.DataFrame:
    """Read a WADI CSV (A1 or A2, normal or attack, optionally gzipped).

    Args:
        path: The file as distributed.
        attacks_path: Optional attack table (CSV with ``start`` and ``end`` columns, inclusive); it labels a
            file without a label column (the A1 attack file).

    Returns:
        A frame with ``Row``, ``Date`` and ``Time`` as text, the tags under their short names (file order) as
        float32, and the A2 label column when present. ``attrs``: ``source``, ``first_line`` (1-based line of
        the first data row) and, with ``attacks_path``, ``attacks`` (see ``read_attack_table``).

    Raises:
        DataFormatError: Missing or empty file, no ``Row, Date, Time`` header in the first lines, missing,
            unknown or repeated columns, a row with the wrong number of fields or a non-numeric cell (naming
            the line).
    """
    path = check_file(path)
    head = head_lines(path, HEADER_SEARCH_LINES)
    header_index = next((i for i, line in enumerate(head)
                         if [canonical_name(n) for n in split_header(line)[:3]] == [ROW_COLUMN, DATE_COLUMN,
                                                                                    TIME_COLUMN]), None)
    if header_index is None:
        raise DataFormatError(f"{path}: no header line starting with 'Row,Date,Time' in the first "
                              f"{HEADER_SEARCH_LINES} lines; is this a WADI file?")
    raw_names = split_header(head[header_index])
    names = [canonical_name(n) for n in raw_names]
    _check_columns(path, names, header_index + 1)
    # float32: the files carry at most seven significant digits and the typed frame is float32 anyway.
    frame = read_table(path, names, skip_lines=header_index + 1, text_columns=(ROW_COLUMN, DATE_COLUMN, TIME_COLUMN),
                       float_type=pa.float32(), what="a WADI file")
    if attacks_path is not None:
        frame.attrs["attacks"] = read_attack_table(attacks_path)
    return frame


def _check_columns(path: Path, names: list[str], line: int) -> None:
    tags = names[3:]
    labelled = A2_LABEL_COLUMN in tags
    expected = 3 + len(WADI_TAGS) + labelled
    repeated = sorted({n for n in tags if tags.count(n) > 1})
    missing = [t for t in WADI_TAGS if t not in tags]
    unknown = [n for n in tags if n not in WADI_TAGS and n != A2_LABEL_COLUMN]
    if repeated or missing or unknown or len(names) != expected:
        details = "; ".join(part for part in (
            f"missing tag(s) {missing[:8]}{' ...' if len(missing) > 8 else ''}" if missing else "",
            f"unknown column(s) {unknown[:8]}{' ...' if len(unknown) > 8 else ''}" if unknown else "",
            f"repeated column(s) {repeated}" if repeated else "") if part)
        raise DataFormatError(
            f"{path}: the header on line {line} has {len(names)} columns, expected {3 + len(WADI_TAGS)} "
            f"('Row', 'Date', 'Time' and the {len(WADI_TAGS)} WADI tags) or {4 + len(WADI_TAGS)} with the A2 "
            f"label column {A2_LABEL_COLUMN!r}" + (f": {details}" if details else ""))


def read_attack_table(path: str | Path) -> dict[str, Any]:
    """Read an attack table: a CSV with ``start`` and ``end`` columns (inclusive timestamps), one attack a row.

    Returns:
        ``{"source": path, "intervals": [["line 2", start_text, end_text], ...]}``, small enough to travel in
        ``DataFrame.attrs``; ``attack_labels`` parses it.

    Raises:
        DataFormatError: Missing or empty file, no ``start``/``end`` columns, or no rows.
    """
    path = check_file(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = {str(c).strip().lower(): c for c in table.columns}
    if "start" not in columns or "end" not in columns:
        raise DataFormatError(f"{path}: an attack table needs 'start' and 'end' columns (inclusive timestamps); "
                              f"found {list(table.columns)}")
    if table.empty:
        raise DataFormatError(f"{path}: the attack table has no rows")
    starts, ends = table[columns["start"]].tolist(), table[columns["end"]].tolist()
    return {"source": str(path),
            "intervals": [[f"line {i + 2}", s, e] for i, (s, e) in enumerate(zip(starts, ends, strict=True))]}


# ------------------------------------------------------------------------------------------------ parsing


def parse_wadi_frame(frame: pd.DataFrame, attacks: dict[str, Any] | None = None) -> pd.DataFrame:
    """Type the cells of a WADI file.

    Args:
        frame: Output of ``read_wadi_csv``.
        attacks: Attack table labelling a file without a label column (``read_attack_table`` or
            ``WADI_A1_ATTACK_TABLE``); ignored when the file has the A2 label column. With neither, every row
            is labelled normal (the releases' normal-operation files).

    Returns:
        A new frame indexed by ``timestamp`` (strictly increasing), with the 123 ``WADI_CHANNELS`` as float32
        (NaN where the file has gaps) and ``label`` as int8 (1 = attack).

    Raises:
        DataFormatError: A missing column, an unparseable, duplicated or unsorted Date/Time, an unknown label
            value, or an unusable attack table, naming the file (or table), column and line.
    """
    source = frame.attrs.get("source", "<WADI frame>")
    first_line = int(frame.attrs.get("first_line", 2))
    missing = [c for c in (ROW_COLUMN, DATE_COLUMN, TIME_COLUMN, *WADI_TAGS) if c not in frame.columns]
    if missing:
        raise DataFormatError(f"{source}: missing column(s) {missing[:8]}; a WADI file has 'Row', 'Date', 'Time' "
                              f"and the {len(WADI_TAGS)} tags")
    frame, blank = drop_trailing_blank_rows(frame, (ROW_COLUMN, DATE_COLUMN, TIME_COLUMN))
    if blank:
        logger.info("%s: ignoring %d empty rows at the end of the file", source, blank)
    if len(frame) == 0:
        raise DataFormatError(f"{source}: no data rows")

    stamps = wadi_timestamps(frame[DATE_COLUMN], frame[TIME_COLUMN], source, first_line)
    index = pd.DatetimeIndex(stamps, name="timestamp")
    values = {tag: frame[tag].to_numpy(dtype=np.float32) for tag in WADI_CHANNELS}
    filled = [t for t in WADI_EMPTY_TAGS if frame[t].notna().any()]
    logger.info("%s: dropping the %d WADI columns that are empty in every release: %s%s", source,
                len(WADI_EMPTY_TAGS), list(WADI_EMPTY_TAGS),
                f" (this file has values in {filled}; dropped all the same, so that every file has the same "
                "123 tags)" if filled else "")
    typed = pd.DataFrame(values, index=index)

    if A2_LABEL_COLUMN in frame.columns:
        if attacks is not None:
            logger.info("%s: labels from the column %r; the attack table %s is not used", source, A2_LABEL_COLUMN,
                        attacks.get("source"))
        typed["label"] = _a2_labels(frame[A2_LABEL_COLUMN], source, first_line)
    elif attacks is not None:
        typed["label"] = attack_labels(index, attacks, source)
    else:
        typed["label"] = np.zeros(len(typed), dtype=np.int8)
    return typed


def wadi_timestamps(dates: pd.Series, times: pd.Series, source: str, first_line: int) -> np.ndarray:
    """Timestamps from WADI's ``Date`` (M/D/YYYY) and ``Time`` (``6:00:00.000 PM``) text columns.

    Each distinct date and time is parsed once (a 14-day file has 14 dates and 86,400 times).

    Raises:
        DataFormatError: An unparseable date or time, or timestamps that repeat or go back, naming the line.
    """
    date_codes, date_values = pd.factorize(dates.astype(str).str.strip())
    days = pd.to_datetime(pd.Series(date_values), format=DATE_FORMAT, errors="coerce")
    bad = first_bad_row(days.isna().to_numpy()[date_codes])
    if bad is not None:
        raise DataFormatError(f"{source}: column 'Date', line {first_line + bad}: cannot parse "
                              f"{dates.iloc[bad]!r} as M/D/YYYY")
    time_codes, time_values = pd.factorize(times.astype(str).str.strip())
    clock = pd.Series(pd.NaT, index=range(len(time_values)), dtype="datetime64[ns]")
    for fmt in TIME_FORMATS:
        todo = clock.isna().to_numpy()
        if not todo.any():
            break
        clock[todo] = pd.to_datetime(pd.Series(time_values[todo]), format=fmt, errors="coerce").to_numpy()
    bad = first_bad_row(clock.isna().to_numpy()[time_codes])
    if bad is not None:
        raise DataFormatError(f"{source}: column 'Time', line {first_line + bad}: cannot parse "
                              f"{times.iloc[bad]!r} as a time of day like '6:00:00.000 PM'")
    since_midnight = (clock - clock.dt.normalize()).to_numpy()
    stamps = days.to_numpy(dtype="datetime64[ns]")[date_codes] + since_midnight[time_codes]
    steps = np.diff(stamps.astype(np.int64))
    for mask, kind in ((steps == 0, "duplicated"), (steps < 0, "unsorted")):
        bad = first_bad_row(mask)
        if bad is not None:
            raise DataFormatError(
                f"{source}: columns 'Date'/'Time', line {first_line + bad + 1}: {kind} timestamp "
                f"{dates.iloc[bad + 1]} {times.iloc[bad + 1]} after {dates.iloc[bad]} {times.iloc[bad]} "
                f"(line {first_line + bad}); rows must be strictly increasing in time")
    return stamps


def _a2_labels(column: pd.Series, source: str, first_line: int) -> np.ndarray:
    values = column.to_numpy(dtype=np.float64)
    bad = first_bad_row(~np.isin(values, (1.0, -1.0)))
    if bad is not None:
        raise DataFormatError(f"{source}: column {A2_LABEL_COLUMN!r}, line {first_line + bad}: unknown label "
                              f"{float(values[bad])!r}; expected 1 (no attack) or -1 (attack)")
    return (values == -1.0).astype(np.int8)


def attack_labels(index: pd.DatetimeIndex, attacks: dict[str, Any], source: str) -> np.ndarray:
    """Point labels from an attack table: 1 on every timestamp inside an interval (both ends included).

    Raises:
        DataFormatError: An interval that cannot be parsed or ends before it starts (naming the table and its
            line), or a table none of whose intervals overlaps the file (the wrong table for the file).
    """
    table = attacks.get("source", "attack table")
    labels = np.zeros(len(index), dtype=np.int8)
    overlapping = 0
    for where, start_text, end_text in attacks["intervals"]:
        start, end = (_parse_moment(text, table, where) for text in (start_text, end_text))
        if end < start:
            raise DataFormatError(f"{table}: {where}: the attack interval {start_text!r} - {end_text!r} "
                                  "ends before it starts")
        first, stop = index.searchsorted(start, side="left"), index.searchsorted(end, side="right")
        if stop > first:
            overlapping += 1
            labels[first:stop] = 1
        else:
            logger.warning("%s: attack interval %s - %s (%s) has no row in %s", table, start_text, end_text,
                           where, source)
    if overlapping == 0:
        raise DataFormatError(f"{source}: none of the {len(attacks['intervals'])} attack intervals of {table} "
                              f"falls inside the file ({index[0]} to {index[-1]}); is it the table of this file?")
    logger.info("%s: labelled %d attack rows (%.2f%%) from %d intervals of %s", source, int(labels.sum()),
                100 * labels.mean(), overlapping, table)
    return labels


def _parse_moment(text: str, table: str, where: str) -> pd.Timestamp:
    text = str(text).strip()
    for fmt in ("ISO8601", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S"):
        try:
            moment = pd.to_datetime(text, format=fmt)
        except (ValueError, TypeError):
            continue
        if not pd.isna(moment):
            return moment
    raise DataFormatError(f"{table}: {where}: cannot parse the attack time {text!r}; write it as "
                          "YYYY-MM-DD HH:MM:SS (or M/D/YYYY HH:MM:SS)")


# ------------------------------------------------------------------------------------------------ writing


LAYOUTS = ("a1_normal", "a1_attack", "a2_normal", "a2_attack")


def write_wadi_csv(typed: pd.DataFrame, path: str | Path, layout: str = "a1_attack",
                   preamble: Sequence[str] = ()) -> None:
    """Write a frame of WADI tags in one of the release layouts (atomically: a temporary file, then a rename).

    Args:
        typed: 1 s DatetimeIndex, the 127 ``WADI_TAGS`` (NaN is written as an empty cell) and, for
            ``a2_attack``, ``label`` (0/1; written as 1 / -1).
        path: Destination (``.gz`` for a gzipped file).
        layout: ``a1_normal`` (preamble lines, then OPC-path header), ``a1_attack`` (OPC-path header on line 1,
            no label), ``a2_normal`` (plain tag names) or ``a2_attack`` (one metadata line, ``'Row '`` and
            ``'Date '`` with trailing spaces, plain names and the A2 label column).
        preamble: Lines written before the header (``a1_normal`` needs four; ``a2_attack`` one).

    Raises:
        ValueError: An unknown layout, missing tags, or a preamble of the wrong length for the layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown WADI layout {layout!r}; choose one of {LAYOUTS}")
    wanted = {"a1_normal": 4, "a2_attack": 1}.get(layout, 0)
    if len(preamble) != wanted:
        raise ValueError(f"the {layout} layout has {wanted} preamble line(s), got {len(preamble)}")
    missing = [t for t in WADI_TAGS if t not in typed.columns]
    if missing:
        raise ValueError(f"missing WADI tag(s) {missing[:8]}")
    index = pd.DatetimeIndex(typed.index)
    dates, times = format_wadi_timestamps(index)
    a1 = layout.startswith("a1")
    row, date = ("Row ", "Date ") if layout == "a2_attack" else ("Row", "Date")
    arrays = [pa.array(np.arange(1, len(index) + 1)), pa.array(dates), pa.array(times)]
    names = [row, date, "Time"]
    for tag in WADI_TAGS:
        values = typed[tag].to_numpy()
        # float32 columns are written in float32's shortest form (1.2346, not 1.2345999479293823).
        values = values if values.dtype == np.float32 else values.astype(np.float64)
        arrays.append(pa.array(values, from_pandas=True))  # NaN -> empty cell
        names.append(OPC_PREFIX + tag if a1 else tag)
    if layout == "a2_attack":
        arrays.append(pa.array(np.where(typed["label"].to_numpy() > 0, -1, 1)))
        names.append(A2_LABEL_COLUMN)
    table = pa.Table.from_arrays(arrays, names=names)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp.{path.name}")
    with (gzip.open(tmp, "wb", compresslevel=5) if path.suffix == ".gz" else open(tmp, "wb")) as handle:
        for line in preamble:
            handle.write((line + "\n").encode("utf-8"))
        handle.write((",".join(f'"{n}"' if "," in n else n for n in names) + "\n").encode("utf-8"))
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False, quoting_style="none",
                                                          batch_size=8192))
    tmp.replace(path)


def format_wadi_timestamps(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """``Date`` and ``Time`` text as the files write them: ``9/25/2017`` and ``6:00:00.000 PM``.

    Each distinct day and second of the day is formatted once, so millions of rows take a fraction of a
    second.
    """
    days = index.normalize()
    day_codes, day_values = pd.factorize(days)
    day_text = np.array([f"{d.month}/{d.day}/{d.year}" for d in day_values], dtype=object)
    offset = (index - days).to_numpy().astype("timedelta64[ms]").astype(np.int64)
    second, milli = offset // 1000, offset % 1000
    second_codes, second_values = pd.factorize(second)
    hours, rest = np.divmod(second_values, 3600)
    minutes, seconds = np.divmod(rest, 60)
    clock = [f"{(h + 11) % 12 + 1}:{m:02d}:{s:02d}" for h, m, s in zip(hours, minutes, seconds, strict=True)]
    noon = np.where(hours < 12, " AM", " PM")
    clock_text = np.array([c for c in clock], dtype=object)
    if (milli == 0).all():
        times = (clock_text + ".000" + noon)[second_codes]
    else:
        millis = np.char.zfill(milli.astype(str), 3).astype(object)
        times = clock_text[second_codes] + "." + millis + noon[second_codes]
    return day_text[day_codes], times
