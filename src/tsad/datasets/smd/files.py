"""SMD and ASD (NetManAIOps server-metric datasets) as distributed: one set of files per machine.

Layout under the dataset's root (``../shared/docs/datasets.md`` §1, ``../shared/data/{SMD,ASD}/SOURCE.md``)::

    train/<machine>.txt[.gz]                 no header, one comma-separated row of floats per time step
    test/<machine>.txt[.gz]                  the same, for the test half
    test_label/<machine>.txt                 one 0/1 per test row
    interpretation_label/<machine>.txt       lines ``start-end:d1,d2,...``: the metrics (1-based) to blame

SMD has 38 metrics at 1 min, ASD 19 at 5 min. The interpretation intervals differ: ``end`` is exclusive in
SMD and inclusive in ASD (``start`` is 0-based in both). Both conventions were checked on the distributed
files against ``test_label`` (24 of SMD's 28 machines agree exactly, 4 differ by a few rows; all 12 ASD
entities agree). Point labels always come from ``test_label``; the interpretation file only adds which
metrics each labelled interval concerns.

Metric names are not published; channels are called ``dim_01`` .. ``dim_38`` after their 1-based position.
"""

from __future__ import annotations

import gzip
import logging
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tsad.connectors.entities import EntitySource, entities_in, find_file
from tsad.core.errors import DataFormatError, first_bad_row

logger = logging.getLogger(__name__)

DATA_SUFFIXES = (".txt", ".txt.gz")
LABEL_SUFFIX = ".txt"
CHANNEL_LABEL_PREFIX = "label:"  # test frames carry the per-metric labels as int8 columns "label:<channel>"
_INTERVAL = re.compile(r"^(\d+)-(\d+):(\d+(?:,\d+)*)$")


@dataclass(frozen=True)
class ServerMachineFormat:
    """What distinguishes the datasets of this family.

    Attributes:
        name: Dataset name for messages.
        n_channels: Metrics per row.
        interval_end: Whether the ``end`` of an interpretation interval is ``exclusive`` or ``inclusive``.
    """

    name: str
    n_channels: int
    interval_end: Literal["exclusive", "inclusive"]

    @property
    def channels(self) -> list[str]:
        """Channel names ``dim_01`` .. in file column order."""
        return [f"dim_{i:02d}" for i in range(1, self.n_channels + 1)]


SMD = ServerMachineFormat("SMD", 38, "exclusive")
ASD = ServerMachineFormat("ASD", 19, "inclusive")
FORMATS = {"SMD": SMD, "ASD": ASD}


def machine_source(root: str | Path, split: Literal["train", "test"], fmt: ServerMachineFormat) -> EntitySource:
    """List one split of an SMD-format folder.

    Machines are those with a data file in ``<root>/<split>/``; machines named only by ``test_label/`` files
    are reported as missing (their data file is named in the message).

    Raises:
        DataFormatError: The root folder does not exist, or a machine has both a ``.txt`` and a ``.txt.gz``.
    """
    root = Path(root)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not root.is_dir():
        raise DataFormatError(f"{root}: no such folder; expected the {fmt.name} folder with train/, test/, "
                              "test_label/ and interpretation_label/")
    present = entities_in(root / split, DATA_SUFFIXES)
    for machine in present:
        find_file(root / split, machine, DATA_SUFFIXES)  # a machine with both .txt and .txt.gz is ambiguous
    readers = {machine: partial(read_machine, root, split, machine, fmt) for machine in present}
    labelled = entities_in(root / "test_label", (LABEL_SUFFIX,))
    missing = {m: f"{root / split / m}.txt (or .txt.gz) is not there" for m in labelled if m not in readers}
    return EntitySource(location=f"{root} ({fmt.name} {split})", readers=readers, missing=missing)


def read_machine(root: str | Path, split: Literal["train", "test"], machine: str,
                 fmt: ServerMachineFormat) -> pd.DataFrame:
    """One machine's split: float64 ``dim_*`` columns on a 0-based ``step`` index.

    The test split adds the int8 ``label`` column from ``test_label/`` and the per-metric labels from
    ``interpretation_label/`` as int8 columns ``label:dim_*``.

    Raises:
        DataFormatError: A missing file, a row without ``n_channels`` numbers, a label file whose length differs
            from the data, a label other than 0/1, or an unparseable interval, naming the file and line.
    """
    root = Path(root)
    path = find_file(root / split, machine, DATA_SUFFIXES)
    if path is None:
        raise DataFormatError(f"{root / split / machine}.txt (or .txt.gz): not found")
    values = read_numeric_table(path, fmt.n_channels)
    frame = pd.DataFrame(values, columns=fmt.channels, index=pd.RangeIndex(len(values), name="step"))
    sources = [str(path)]
    if split == "test":
        label_path = root / "test_label" / f"{machine}{LABEL_SUFFIX}"
        frame["label"] = read_point_labels(label_path, path, len(values))
        interpretation_path = root / "interpretation_label" / f"{machine}{LABEL_SUFFIX}"
        per_channel = read_interpretation_labels(interpretation_path, len(values), fmt)
        disagree = int(np.sum(per_channel.max(axis=1) != frame["label"].to_numpy()))
        if disagree:
            logger.info("%s: the intervals mark %d rows differently from %s; point labels come from test_label",
                        interpretation_path, disagree, label_path.name)
        channel_labels = pd.DataFrame(per_channel, columns=[f"{CHANNEL_LABEL_PREFIX}{c}" for c in fmt.channels],
                                      index=frame.index)
        frame = pd.concat([frame, channel_labels], axis=1)
        sources += [str(label_path), str(interpretation_path)]
    frame.attrs = {"source": ", ".join(sources)}
    return frame


def read_numeric_table(path: str | Path, n_columns: int) -> np.ndarray:
    """A header-less, comma-separated table of floats (plain or gzipped) with ``n_columns`` per line.

    Raises:
        DataFormatError: An empty file, a line with another number of values, or a value that is not a
            number, naming the file and the 1-based line.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, header=None, sep=",", dtype=np.float64, engine="c", na_filter=True)
    except pd.errors.EmptyDataError as error:
        raise DataFormatError(f"{path}: the file is empty; expected rows of {n_columns} numbers") from error
    except (ValueError, pd.errors.ParserError) as error:  # a bad cell or a long row: find the line
        _raise_first_bad_line(path, n_columns, error)
    if table.shape[1] != n_columns:
        raise DataFormatError(f"{path}: {table.shape[1]} values per line, expected {n_columns}")
    values = table.to_numpy()
    bad = first_bad_row(np.isnan(values).any(axis=1))
    if bad is not None:  # a short line or an empty cell reads as NaN
        _raise_first_bad_line(path, n_columns, None)
    return values


def read_point_labels(path: Path, data_path: Path, n_rows: int) -> np.ndarray:
    """``test_label``: one 0/1 per line, as many lines as the test data has rows.

    Raises:
        DataFormatError: The file is missing, has another length than the data, or a value other than 0/1.
    """
    if not path.is_file():
        raise DataFormatError(f"{path}: label file not found; expected one 0/1 per row of {data_path}")
    text = path.read_text().split()
    labels = np.array(text)
    bad = first_bad_row((labels != "0") & (labels != "1"))
    if bad is not None:
        raise DataFormatError(f"{path}: line {bad + 1}: {text[bad]!r} is not a label 0 or 1")
    if len(labels) != n_rows:
        raise DataFormatError(f"{path}: {len(labels)} labels, but {data_path} has {n_rows} rows")
    return (labels == "1").astype(np.int8)


def read_interpretation_labels(path: Path, n_rows: int, fmt: ServerMachineFormat) -> np.ndarray:
    """Per-metric labels from ``interpretation_label``: an (n_rows, n_channels) int8 array.

    Each line ``start-end:d1,d2,...`` marks rows ``start`` .. ``end`` (exclusive or inclusive per the format)
    of the 1-based metrics ``d1, d2 ...``.

    Raises:
        DataFormatError: The file is missing, a line does not parse, an interval is empty or runs past the
            test data, or a metric number is outside 1..n_channels; naming the file and line.
    """
    if not path.is_file():
        raise DataFormatError(f"{path}: interpretation label file not found; expected lines 'start-end:d1,d2,...'")
    labels = np.zeros((n_rows, fmt.n_channels), dtype=np.int8)
    extra = 1 if fmt.interval_end == "inclusive" else 0
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        line = text.strip()
        if not line:
            continue
        match = _INTERVAL.match(line)
        if match is None:
            raise DataFormatError(f"{path}: line {number}: cannot parse {line!r}; expected 'start-end:d1,d2,...'")
        start, end = int(match.group(1)), int(match.group(2)) + extra
        dims = np.array(match.group(3).split(","), dtype=np.int64)
        if not 0 <= start < end <= n_rows:
            raise DataFormatError(f"{path}: line {number}: interval {line.split(':')[0]} ({fmt.interval_end} end) "
                                  f"is empty or outside the {n_rows} test rows")
        if dims.min() < 1 or dims.max() > fmt.n_channels:
            raise DataFormatError(f"{path}: line {number}: metric numbers must be in 1..{fmt.n_channels}, "
                                  f"got {match.group(3)}")
        labels[start:end, dims - 1] = 1
    return labels


def _raise_first_bad_line(path: Path, n_columns: int, error: Exception | None) -> None:
    """Find and report the first malformed line (only reached for a bad file, so a Python loop is fine)."""

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue  # pandas skips blank lines too
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != n_columns:
                raise DataFormatError(f"{path}: line {number}: {len(cells)} values, expected {n_columns}")
            for column, cell in enumerate(cells, start=1):
                try:
                    value = float(cell)
                except ValueError:
                    value = None
                if value is None or np.isnan(value):
                    raise DataFormatError(f"{path}: line {number}, column {column}: {cell!r} is not a number")
    raise DataFormatError(f"{path}: cannot read as rows of {n_columns} comma-separated numbers ({error})")
