"""MSL and SMAP (NASA telemanom, Hundman et al. KDD 2018) as distributed: one array per channel and split.

Layout under the root (``../shared/docs/datasets.md`` §5, ``../shared/data/MSL_SMAP/SOURCE.md``)::

    train/<chan>.npy[.gz]        float64 (T, D): column 0 the telemetry value (scaled to [-1, 1] by NASA),
    test/<chan>.npy[.gz]         columns 1.. one-hot encoded commands (0/1); D = 55 (MSL) or 25 (SMAP)
    labeled_anomalies.csv        chan_id, spacecraft, anomaly_sequences, class, num_values

``anomaly_sequences`` lists ``[start, end]`` pairs of 0-based test rows, both ends inclusive (telemanom's and
OmniAnomaly's convention); ``num_values`` is the test length. The ``.npy.gz`` files are the original ``.npy``
bytes gzipped. Two quirks of the release: ``P-2`` has two rows (both SMAP, same length, different sequences):
the channel is kept once with the union of both rows' sequences, and a log line says so; ``T-10`` has data
files but no row, so it belongs to no spacecraft and is skipped with a log line.

Channels are called ``value`` and ``cmd_01`` .. ``cmd_54`` (MSL) / ``cmd_24`` (SMAP).
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tsad.connectors.entities import EntitySource, entities_in, find_file, natural_key
from tsad.core.errors import DataFormatError

logger = logging.getLogger(__name__)

SPACECRAFT_DIMENSIONS = {"MSL": 55, "SMAP": 25}
DATA_SUFFIXES = (".npy", ".npy.gz")
LABELS_FILE = "labeled_anomalies.csv"
_LABEL_COLUMNS = ("chan_id", "spacecraft", "anomaly_sequences", "num_values")


@dataclass(frozen=True)
class ChannelLabels:
    """One channel's row(s) of ``labeled_anomalies.csv``.

    Attributes:
        spacecraft: ``MSL`` or ``SMAP``.
        sequences: ``(start, end)`` pairs of 0-based test rows, both inclusive.
        num_values: The test length the file states.
        lines: The 1-based lines of the CSV the channel comes from.
    """

    spacecraft: str
    sequences: tuple[tuple[int, int], ...]
    num_values: int
    lines: tuple[int, ...]


def channel_names(spacecraft: str) -> list[str]:
    """``value`` then ``cmd_01`` .. for the spacecraft's command columns."""
    return ["value", *(f"cmd_{i:02d}" for i in range(1, SPACECRAFT_DIMENSIONS[spacecraft]))]


def read_labeled_anomalies(path: str | Path) -> dict[str, ChannelLabels]:
    """Parse ``labeled_anomalies.csv``; a channel listed twice is kept once with the union of its sequences.

    Raises:
        DataFormatError: The file is missing, lacks a column, has an unknown spacecraft, an unparseable
            sequence list or ``num_values``, or a channel listed twice with different spacecraft or lengths;
            naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: label file not found; expected telemanom's labeled_anomalies.csv "
                              f"with columns {', '.join(_LABEL_COLUMNS)}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    missing = [c for c in _LABEL_COLUMNS if c not in header]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {missing}; expected {', '.join(_LABEL_COLUMNS)}")
    if not rows:
        raise DataFormatError(f"{path}: no rows")
    out: dict[str, ChannelLabels] = {}
    for line, cells in enumerate(rows, start=2):
        row = {key: value if isinstance(value, str) else "" for key, value in cells.items()}  # short rows: None
        channel, spacecraft = row["chan_id"].strip(), row["spacecraft"].strip()
        if spacecraft not in SPACECRAFT_DIMENSIONS:
            raise DataFormatError(f"{path}: line {line}: unknown spacecraft {spacecraft!r}; expected MSL or SMAP")
        sequences = _parse_sequences(row["anomaly_sequences"], path, line)
        try:
            num_values = int(row["num_values"])
        except ValueError as error:
            raise DataFormatError(f"{path}: line {line}: num_values {row['num_values']!r} is not an integer") from error
        for start, end in sequences:
            if not 0 <= start <= end < num_values:
                raise DataFormatError(f"{path}: line {line}: sequence [{start}, {end}] is outside the "
                                      f"{num_values} test rows of {channel}")
        if channel in out:
            first = out[channel]
            if (first.spacecraft, first.num_values) != (spacecraft, num_values):
                raise DataFormatError(f"{path}: line {line}: {channel} is listed again with another spacecraft "
                                      f"or length than on line {first.lines[0]}")
            logger.info("%s: %s is listed on lines %s and %d; using the union of their anomaly sequences",
                        path, channel, ", ".join(map(str, first.lines)), line)
            out[channel] = ChannelLabels(spacecraft, first.sequences + sequences, num_values, (*first.lines, line))
        else:
            out[channel] = ChannelLabels(spacecraft, sequences, num_values, (line,))
    return out


def channel_source(root: str | Path, split: Literal["train", "test"], spacecraft: str,
                   labels_file: str = LABELS_FILE) -> EntitySource:
    """List one split of one spacecraft's channels.

    The channels are those ``labeled_anomalies.csv`` assigns to the spacecraft; one without a data file is
    reported as missing. Data files of channels without a label row are skipped with a log line.

    Raises:
        DataFormatError: Unknown spacecraft, a missing root or label file, or a malformed label file.
    """
    root = Path(root)
    if spacecraft not in SPACECRAFT_DIMENSIONS:
        raise DataFormatError(f"unknown spacecraft {spacecraft!r}; expected one of {sorted(SPACECRAFT_DIMENSIONS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not root.is_dir():
        raise DataFormatError(f"{root}: no such folder; expected the MSL/SMAP folder with train/, test/ and "
                              f"{labels_file}")
    labels_path = root / labels_file
    labels = read_labeled_anomalies(labels_path)
    present = entities_in(root / split, DATA_SUFFIXES)
    unlabelled = [c for c in present if c not in labels]
    if unlabelled:
        logger.info("%s: %s have data files but no row in %s; skipped", root / split, unlabelled, labels_file)
    channels = sorted((c for c, info in labels.items() if info.spacecraft == spacecraft), key=natural_key)
    readers, missing = {}, {}
    for channel in channels:
        path = find_file(root / split, channel, DATA_SUFFIXES)
        if path is None:
            missing[channel] = f"{root / split / channel}.npy (or .npy.gz) is not there"
        else:
            readers[channel] = partial(read_channel, path, spacecraft, labels[channel] if split == "test" else None,
                                       labels_path)
    return EntitySource(location=f"{root} ({spacecraft} {split})", readers=readers, missing=missing)


def read_channel(path: str | Path, spacecraft: str, labels: ChannelLabels | None = None,
                 labels_path: str | Path = LABELS_FILE) -> pd.DataFrame:
    """One channel's split: float64 columns on a 0-based ``step`` index, plus int8 ``label`` for the test split.

    Raises:
        DataFormatError: The array is not 2-D numeric with the spacecraft's column count, or its length
            differs from ``num_values`` in the label file.
    """
    path = Path(path)
    values = load_npy(path)
    expected = SPACECRAFT_DIMENSIONS[spacecraft]
    if values.ndim != 2 or values.shape[1] != expected:
        raise DataFormatError(f"{path}: array of shape {values.shape}, expected (rows, {expected}) for {spacecraft}")
    if len(values) == 0:
        raise DataFormatError(f"{path}: the array has no rows")
    frame = pd.DataFrame(values.astype(np.float64, copy=False), columns=channel_names(spacecraft),
                         index=pd.RangeIndex(len(values), name="step"))
    if labels is not None:
        if labels.num_values != len(values):
            raise DataFormatError(f"{labels_path}: line {labels.lines[0]} gives num_values {labels.num_values}, "
                                  f"but {path} has {len(values)} rows")
        frame["label"] = sequence_labels(labels.sequences, len(values))
    frame.attrs = {"source": str(path)}
    return frame


def load_npy(path: Path) -> np.ndarray:
    """A numeric ``.npy`` or gzipped ``.npy`` (never unpickled).

    Raises:
        DataFormatError: The file is not a readable numeric NumPy array.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            values = np.load(handle, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataFormatError(f"{path}: not a readable .npy array ({error})") from error
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        raise DataFormatError(f"{path}: array of dtype {values.dtype}, expected numbers")
    return values


def sequence_labels(sequences: tuple[tuple[int, int], ...], n_rows: int) -> np.ndarray:
    """0/1 labels (int8) from inclusive ``[start, end]`` row pairs."""
    marks = np.zeros(n_rows + 1, dtype=np.int64)
    for start, end in sequences:  # a handful per channel: difference array, then one cumulative sum
        marks[start] += 1
        marks[end + 1] -= 1
    return (np.cumsum(marks[:-1]) > 0).astype(np.int8)


def _parse_sequences(text: str, path: Path, line: int) -> tuple[tuple[int, int], ...]:
    try:
        pairs = json.loads(text)
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and
                                                  all(isinstance(v, int) for v in p) for p in pairs):
            raise ValueError("not a list of [start, end] integer pairs")
    except ValueError as error:
        raise DataFormatError(f"{path}: line {line}: cannot parse anomaly_sequences {text!r} as a list of "
                              f"[start, end] pairs ({error})") from error
    return tuple((int(a), int(b)) for a, b in pairs)
