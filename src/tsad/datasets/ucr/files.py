"""The UCR Time Series Anomaly Archive (Wu & Keogh; KDD Cup 2021) as distributed: one file per series.

A file ``<NNN>_UCR_Anomaly_<name>_<trainEnd>_<start>_<end>.txt`` (or ``.txt.gz``) holds one univariate
series, one value per line, or (a few files) all values space-separated on one line; both read with
``split()``. The name is the only label: the series' first ``trainEnd`` values are anomaly-free training
data, and the single anomaly spans ``start`` .. ``end``.

Index convention (``../shared/docs/datasets.md`` §6 leaves it open): the archive's own, MATLAB-style
1-based positions with ``end`` inclusive. In 0-based rows the training prefix is ``[0, trainEnd)``, the
test part ``[trainEnd, N)``, and the anomaly ``[start - 1, end - 1]``. Checked on files whose anomaly is a
single visible spike: 005/113 (CIMIS44AirTemperature1, ``_5391_5392``: the drop is at 0-based row 5390),
077/185 (resperation11, ``_110800_110801``: the spike is at row 110799), 092 (tiltAPB4, ``_67995_67996``:
row 67994). A 0-based reading would put each of these anomalies one row after the spike.

Rows keep their file position as a 0-based ``step`` index in both parts, so test steps start at trainEnd.
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tsad.connectors.entities import EntitySource, natural_key
from tsad.core.errors import DataFormatError

FILE_NAME = re.compile(r"^(?P<number>\d+)_UCR_Anomaly_(?P<name>.+)_(?P<train_end>\d+)_(?P<start>\d+)_(?P<end>\d+)"
                       r"\.txt(?:\.gz)?$")
_WHITESPACE_TO_NEWLINE = bytes.maketrans(b" \t\r\f\v", b"\n\n\n\n\n")
EXPECTED_NAME = "<NNN>_UCR_Anomaly_<name>_<trainEnd>_<start>_<end>.txt[.gz]"


@dataclass(frozen=True)
class UcrSeries:
    """What a file name says, converted to 0-based rows.

    Attributes:
        path: The file.
        entity: ``<NNN>_<name>``, e.g. ``001_DISTORTED1sddb40``.
        train_end: Rows ``[0, train_end)`` are the training prefix.
        anomaly_start: First anomalous row (0-based; the name's ``start`` minus 1).
        anomaly_end: Row after the last anomalous one (0-based, exclusive; the name's ``end``).
    """

    path: Path
    entity: str
    train_end: int
    anomaly_start: int
    anomaly_end: int


def parse_file_name(path: str | Path) -> UcrSeries:
    """Read the training prefix and the anomaly from a UCR file name.

    Raises:
        DataFormatError: The name does not follow the archive's pattern, or its numbers are inconsistent
            (an empty training prefix, an anomaly ending before it starts or inside the training prefix).
    """
    path = Path(path)
    match = FILE_NAME.match(path.name)
    if match is None:
        raise DataFormatError(f"{path}: cannot parse the file name; expected {EXPECTED_NAME}")
    train_end, start, end = (int(match.group(k)) for k in ("train_end", "start", "end"))
    if not 0 < train_end < start <= end:
        raise DataFormatError(f"{path}: the name gives training prefix 1..{train_end} and anomaly {start}..{end} "
                              "(1-based, inclusive); expected 0 < trainEnd < start <= end")
    return UcrSeries(path, f"{match.group('number')}_{match.group('name')}", train_end, start - 1, end)


def archive_source(root: str | Path, split: Literal["train", "test"]) -> EntitySource:
    """List the archive's series (files ending in ``.txt`` or ``.txt.gz`` in ``root``).

    Raises:
        DataFormatError: The folder is missing, a ``.txt`` file's name does not parse, or two files give
            the same series.
    """
    root = Path(root)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not root.is_dir():
        raise DataFormatError(f"{root}: no such folder; expected the UCR_Anomaly_FullData folder of {EXPECTED_NAME} "
                              "files")
    series: dict[str, UcrSeries] = {}
    for path in root.iterdir():
        if path.is_file() and path.name.endswith((".txt", ".txt.gz")):
            parsed = parse_file_name(path)
            if parsed.entity in series:
                raise DataFormatError(f"{root}: {series[parsed.entity].path.name} and {path.name} are the same "
                                      f"series {parsed.entity}; keep one of them")
            series[parsed.entity] = parsed
    readers = {name: partial(read_series, series[name], split) for name in sorted(series, key=natural_key)}
    return EntitySource(location=f"{root} (UCR {split})", readers=readers)


def read_values(path: str | Path) -> np.ndarray:
    """All whitespace-separated values of a file (plain or gzipped) as float64.

    Raises:
        DataFormatError: An empty file or a token that is not a number, naming the line.
    """
    path = Path(path)
    raw = gzip.open(path).read() if path.name.endswith(".gz") else path.read_bytes()
    if not raw.strip():
        raise DataFormatError(f"{path}: the file is empty; expected one number per line")
    try:  # one token per line for pandas' C parser: twice as fast as np.array(raw.split()), same values
        column = pd.read_csv(io.BytesIO(raw.translate(_WHITESPACE_TO_NEWLINE)), header=None, dtype=np.float64,
                             engine="c", na_filter=False)
        if column.shape[1] != 1:
            raise ValueError(f"{column.shape[1]} columns")
        values = column.to_numpy()[:, 0]
    except ValueError as error:  # find the culprit (only for a bad file)
        for number, line in enumerate(raw.splitlines(), start=1):
            for token in line.split():
                try:
                    float(token)
                except ValueError:
                    raise DataFormatError(f"{path}: line {number}: {token.decode(errors='replace')!r} is not a "
                                          "number") from error
        raise DataFormatError(f"{path}: cannot read the values ({error})") from error
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise DataFormatError(f"{path}: value #{bad[0] + 1} is {values[bad[0]]}; the archive has only finite values")
    return values


def read_series(series: UcrSeries, split: Literal["train", "test"]) -> pd.DataFrame:
    """One split of a series: float64 ``value`` and int8 ``label`` on the 0-based file-position ``step`` index.

    Raises:
        DataFormatError: The anomaly the name gives runs past the end of the file.
    """
    values = read_values(series.path)
    if series.anomaly_end > len(values):
        raise DataFormatError(f"{series.path}: the name puts the anomaly at {series.anomaly_start + 1}.."
                              f"{series.anomaly_end} (1-based), but the file has {len(values)} values")
    rows = slice(0, series.train_end) if split == "train" else slice(series.train_end, len(values))
    labels = np.zeros(len(values), dtype=np.int8)
    labels[series.anomaly_start:series.anomaly_end] = 1
    steps = np.arange(len(values), dtype=np.int64)[rows]
    frame = pd.DataFrame({"value": values[rows], "label": labels[rows]}, index=pd.Index(steps, name="step"))
    frame.attrs = {"source": str(series.path)}
    return frame
