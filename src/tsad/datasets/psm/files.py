"""PSM (Pooled Server Metrics, eBay; Abdulaal et al., KDD 2021) files as distributed.

``train.csv`` and ``test.csv`` have ``timestamp_(min)`` followed by 25 metrics (``feature_0`` ...
``feature_24``), one row a minute, with NaN cells; ``test_label.csv`` has ``timestamp_(min)`` and ``label``
(0/1), one row per test row (methods.md §7). ``timestamp_(min)`` becomes the ``step`` index and is never a
feature: MTGFlow's and USD's loaders keep it as a feature and drop the 25th metric instead (methods.md §5.5).
NaN cells stay NaN here; the cleaning stage's ``nan_policy`` decides (PSM's parameters set ``fill``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tsad.connectors.delimited import check_file, head_lines, read_table, split_header
from tsad.core.errors import DataFormatError, first_bad_row

TIME_COLUMN = "timestamp_(min)"
LABEL_COLUMN = "label"
N_FEATURES = 25


def read_psm_csv(path: str | Path, label_path: str | Path | None = None) -> pd.DataFrame:
    """Read a PSM split, and its labels when ``label_path`` is given.

    Args:
        path: ``train.csv`` or ``test.csv``.
        label_path: ``test_label.csv`` (one row per row of ``path``).

    Returns:
        ``timestamp_(min)`` and the 25 metrics as float64, plus ``label`` (float64, as read) with
        ``label_path``. ``attrs``: ``source``, ``first_line`` and, with labels, ``label_source``.

    Raises:
        DataFormatError: Missing or empty file, a header that is not ``timestamp_(min)`` and 25 metrics, a
            row of the wrong width or a non-numeric cell (naming the line), a label file whose length or
            timestamps differ from the data's, or a missing label.
    """
    path = check_file(path)
    names = _header(path, expected=1 + N_FEATURES, what=f"{TIME_COLUMN!r} and {N_FEATURES} metrics")
    frame = read_table(path, names, skip_lines=1, what=f"a PSM file ({TIME_COLUMN} and {N_FEATURES} metrics)")
    if label_path is None:
        return frame
    label_path = check_file(label_path)
    label_names = _header(label_path, expected=2, what=f"{TIME_COLUMN!r} and {LABEL_COLUMN!r}")
    if label_names[1].strip() != LABEL_COLUMN:
        raise DataFormatError(f"{label_path}: the second column is {label_names[1]!r}, expected {LABEL_COLUMN!r}")
    labels = read_table(label_path, label_names, skip_lines=1, what="a PSM label file (timestamp_(min), label)")
    if len(labels) != len(frame):
        raise DataFormatError(f"{label_path}: {len(labels)} labels for the {len(frame)} rows of {path}; "
                              "a PSM label file has one row per test row")
    stamps, label_stamps = frame.iloc[:, 0].to_numpy(), labels.iloc[:, 0].to_numpy()
    bad = first_bad_row(~((stamps == label_stamps) | (np.isnan(stamps) & np.isnan(label_stamps))))
    if bad is not None:
        raise DataFormatError(f"{label_path}: line {bad + 2}: {TIME_COLUMN} {label_stamps[bad]} differs from "
                              f"{stamps[bad]} on line {bad + 2} of {path}; the label file does not match the data")
    out = frame.copy()
    out[LABEL_COLUMN] = labels.iloc[:, 1].to_numpy()
    out.attrs = {**frame.attrs, "label_source": str(label_path)}
    return out


def _header(path: Path, expected: int, what: str) -> list[str]:
    head = head_lines(path, 1)
    names = split_header(head[0]) if head else []
    if len(names) != expected or names[0].strip() != TIME_COLUMN:
        raise DataFormatError(f"{path}: the header has {len(names)} columns starting {names[:2]}, expected "
                              f"{expected}: {what}; is this a PSM file?")
    if len({n.strip() for n in names}) != len(names):
        raise DataFormatError(f"{path}: repeated column names in the header {names}")
    return [n.strip() for n in names]


def parse_psm_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Type a PSM split: ``step`` index from ``timestamp_(min)``, 25 float32 metrics, int8 label.

    Raises:
        DataFormatError: A missing, non-integer, repeated or decreasing ``timestamp_(min)``, or a label other
            than 0/1, naming the file and line (a split without a label column is labelled all normal).
    """
    source = frame.attrs.get("source", "<PSM frame>")
    first_line = int(frame.attrs.get("first_line", 2))
    if TIME_COLUMN not in frame.columns:
        raise DataFormatError(f"{source}: no {TIME_COLUMN!r} column")
    stamps = frame[TIME_COLUMN].to_numpy(dtype=np.float64)
    bad = first_bad_row(~np.isfinite(stamps) | (stamps != np.round(stamps)))
    if bad is not None:
        raise DataFormatError(f"{source}: column {TIME_COLUMN!r}, line {first_line + bad}: {stamps[bad]} is not "
                              "a whole number of minutes")
    steps = stamps.astype(np.int64)
    order = np.diff(steps)
    bad = first_bad_row(order <= 0)
    if bad is not None:
        kind = "repeated" if order[bad] == 0 else "decreasing"
        raise DataFormatError(f"{source}: column {TIME_COLUMN!r}, line {first_line + bad + 1}: {kind} minute "
                              f"{steps[bad + 1]} after {steps[bad]}")
    metrics = [c for c in frame.columns if c not in (TIME_COLUMN, LABEL_COLUMN)]
    typed = pd.DataFrame({c: frame[c].to_numpy(dtype=np.float32) for c in metrics},
                         index=pd.Index(steps, name="step"))
    if LABEL_COLUMN in frame.columns:
        labels = frame[LABEL_COLUMN].to_numpy(dtype=np.float64)
        bad = first_bad_row(~np.isin(labels, (0.0, 1.0)))
        if bad is not None:
            raise DataFormatError(f"{frame.attrs.get('label_source', source)}: column {LABEL_COLUMN!r}, line "
                                  f"{first_line + bad}: unknown label {labels[bad]}; expected 0 or 1")
        typed[LABEL_COLUMN] = labels.astype(np.int8)
    else:
        typed[LABEL_COLUMN] = np.zeros(len(typed), dtype=np.int8)
    return typed
