"""NAB (Numenta Anomaly Benchmark) as distributed: one CSV per series and a JSON of anomaly windows.

Layout under the root (``../shared/docs/datasets.md`` §3, ``../shared/data/NAB/SOURCE.md``)::

    data/<category>/<name>.csv         header ``timestamp,value``; ``YYYY-MM-DD HH:MM:SS``; one value per row
    labels/combined_windows.json       {"<category>/<name>.csv": [[start, end], ...]}, inclusive timestamps

A series is the entity ``<category>/<name>``; a series with no window (``artificialNoAnomaly/*``) is all
normal. NAB has no train/test files: ``split_series`` cuts each series in time.

Rows keep their file order on a 0-based ``step`` index, as NAB's own scorer reads them: 8 of the 58 files
are not strictly increasing in time (three AWS files repeat ``2014-03-09 03:00:00`` on 12 rows at the clock
change, four repeat one timestamp, ``machine_temperature_system_failure`` goes back 55 minutes once), so
timestamps cannot be the index. Labels compare each row's timestamp with the windows, as NAB does.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.connectors.entities import EntitySource, natural_key
from tsad.core.errors import DataFormatError, first_bad_row

WINDOWS_FILE = "labels/combined_windows.json"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
HEADER = ["timestamp", "value"]


def series_source(root: str | Path, windows_file: str = WINDOWS_FILE) -> EntitySource:
    """List NAB's series (``data/*/*.csv``); series named in the windows file without a CSV are missing.

    Raises:
        DataFormatError: The root folder or the windows file is missing or malformed.
    """
    root = Path(root)
    if not (root / "data").is_dir():
        raise DataFormatError(f"{root / 'data'}: no such folder; expected NAB's data/<category>/<name>.csv "
                              f"and {windows_file}")
    windows = read_windows(root / windows_file)
    paths = {f"{p.parent.name}/{p.stem}": p for p in (root / "data").glob("*/*.csv")}
    names = sorted(paths, key=natural_key)
    readers = {name: partial(read_series, paths[name], windows, root / windows_file) for name in names}
    missing = {key.removesuffix(".csv"): f"{root / 'data' / key} is not there" for key in windows
               if key.removesuffix(".csv") not in paths}
    return EntitySource(location=f"{root} (NAB)", readers=readers, missing=missing)


def read_windows(path: str | Path) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """``combined_windows.json``: file key -> inclusive ``(start, end)`` timestamps.

    Raises:
        DataFormatError: The file is missing, is not a JSON object of lists of [start, end] pairs, or a window
            has an unparseable timestamp or ends before it starts; naming the file and the key.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: label file not found; expected NAB's combined_windows.json")
    try:
        content = json.loads(path.read_text())
    except ValueError as error:
        raise DataFormatError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(content, dict):
        raise DataFormatError(f"{path}: expected an object {{'<category>/<name>.csv': [[start, end], ...]}}")
    out = {}
    for key, pairs in content.items():
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise DataFormatError(f"{path}: {key!r}: expected a list of [start, end] pairs, got {pairs!r}")
        windows = []
        for start_text, end_text in pairs:
            try:
                start, end = pd.Timestamp(start_text), pd.Timestamp(end_text)
            except (TypeError, ValueError) as error:
                raise DataFormatError(f"{path}: {key!r}: cannot parse window [{start_text!r}, {end_text!r}] "
                                      f"as timestamps") from error
            if end < start:
                raise DataFormatError(f"{path}: {key!r}: window [{start_text}, {end_text}] ends before it starts")
            windows.append((start, end))
        out[key] = windows
    return out


def read_series(path: str | Path, windows: dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]],
                windows_path: str | Path = WINDOWS_FILE) -> pd.DataFrame:
    """One series: float64 ``value`` and int8 ``label`` on a 0-based ``step`` index (file order).

    Raises:
        DataFormatError: The header is not ``timestamp,value``, a timestamp or value does not parse (naming
            the line), the file has no rows, or the windows file has no entry for the series.
    """
    path = Path(path)
    key = f"{path.parent.name}/{path.name}"
    if key not in windows:
        raise DataFormatError(f"{windows_path}: no entry for {key}; every NAB series needs one (an empty list "
                              "for a series without anomalies)")
    try:
        cells = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as error:
        raise DataFormatError(f"{path}: the file is empty; expected a header timestamp,value") from error
    except pd.errors.ParserError as error:
        raise DataFormatError(f"{path}: expected 2 columns timestamp,value ({error})") from error
    if list(cells.columns) != HEADER:
        raise DataFormatError(f"{path}: header {list(cells.columns)}, expected {HEADER}")
    if cells.empty:
        raise DataFormatError(f"{path}: no data rows")
    stamps = pd.to_datetime(cells["timestamp"].str.strip(), format=TIMESTAMP_FORMAT, errors="coerce")
    bad = first_bad_row(stamps.isna().to_numpy())
    if bad is not None:
        raise DataFormatError(f"{path}: column 'timestamp', line {bad + 2}: cannot parse "
                              f"{cells['timestamp'].iloc[bad]!r} as YYYY-MM-DD HH:MM:SS")
    values = pd.to_numeric(cells["value"].str.strip(), errors="coerce")
    bad = first_bad_row(values.isna().to_numpy())
    if bad is not None:
        raise DataFormatError(f"{path}: column 'value', line {bad + 2}: {cells['value'].iloc[bad]!r} is not a number")
    frame = pd.DataFrame({"value": values.to_numpy(dtype=np.float64)}, index=pd.RangeIndex(len(cells), name="step"))
    frame["label"] = window_labels(stamps.to_numpy(dtype="datetime64[ns]"), windows[key])
    frame.attrs = {"source": str(path)}
    return frame


def window_labels(stamps: np.ndarray, windows: list[tuple[pd.Timestamp, pd.Timestamp]]) -> np.ndarray:
    """1 where a row's timestamp lies in an inclusive window (rows in file order, sorted or not)."""
    labels = np.zeros(len(stamps), dtype=bool)
    for start, end in windows:  # at most a few windows per series
        labels |= (stamps >= start.to_datetime64()) & (stamps <= end.to_datetime64())
    return labels.astype(np.int8)


def split_series(frame: pd.DataFrame, train_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The leading ``floor(train_fraction * rows)`` rows as training data, the rest as test data.

    With the default 0.15 this is NAB's probationary period (without NAB's 750-row cap), the protocol of
    ../shared/docs/targets.md.

    Raises:
        ValueError: ``train_fraction`` outside (0, 1), or a part would be empty.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    cut = int(np.floor(train_fraction * len(frame)))
    if cut == 0 or cut == len(frame):
        raise ValueError(f"{frame.attrs.get('source', 'series')}: {len(frame)} rows cannot be split at "
                         f"train_fraction {train_fraction}")
    return frame.iloc[:cut], frame.iloc[cut:]
