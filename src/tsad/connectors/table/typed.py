"""One file's cells as a typed frame (``tsad.core.frames``): the channels as float32, the labels as 0/1 from the
declared values, on the file's time index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tsad.connectors.table.reading import column_text, line_or_row
from tsad.connectors.table.source_spec import TableSpec, canonical_value
from tsad.connectors.table.times import time_index
from tsad.core.errors import DataFormatError, first_bad_row
from tsad.core.frames import LABEL, beyond_float32


def type_cells(cells: pd.DataFrame, spec: TableSpec, *, labelled: bool) -> pd.DataFrame:
    """One file's cells as a typed frame (``tsad.core.frames``) with a flat time index.

    Args:
        cells: ``read_cells``' output.
        spec: The source settings.
        labelled: Keep the label column (test and training data); False for new data to score.

    Returns:
        The typed frame, with ``attrs``: ``source``, ``first_line`` and ``notes`` (``read_cells``' and a time zone
        converted).

    Raises:
        DataFormatError: A timestamp that does not parse, a duplicated or unsorted time, a value beyond float32's
            range or a label outside the declared values, naming the file, the column, the line and the value.
    """
    source, first_line, attrs = cells.attrs["source"], cells.attrs["first_line"], cells.attrs
    notes = list(attrs.get("notes", []))
    index = time_index(cells, spec, source, first_line, notes)
    for column in attrs["channels"]:
        _check_float32_range(cells[column].to_numpy(dtype=np.float64), column, spec, source, first_line)
    out = pd.DataFrame({c: cells[c].to_numpy(dtype=np.float32) for c in attrs["channels"]}, index=index)
    if labelled and attrs["label"]:
        out[LABEL] = _labels(cells[attrs["label"]], spec, source, first_line)
    out.attrs = {"source": source, "first_line": first_line, "notes": notes}
    return out


def _check_float32_range(values: np.ndarray, column: str, spec: TableSpec, source: str,
                         first_line: int | None) -> None:
    """Refuse a value a float32 channel cannot hold (it would become infinite, and be filled or reported as
    ``inf``), naming it as the file writes it."""
    if not beyond_float32(values).any():  # cheap: the file's text is read only when a value is out of range
        return
    text = column_text(Path(source), spec, column)
    row = first_bad_row(beyond_float32(values, text))
    if row is not None:
        raise DataFormatError(f"{source}: column {column!r}, {line_or_row(first_line, row)}: {text.iloc[row]!r} is "
                              f"beyond the range of float32 (±{np.finfo(np.float32).max:.3g}), the type of channel "
                              f"values; scale the column in the file, or leave it out with "
                              f"{spec.key('exclude_channels')}")


def _labels(values: pd.Series, spec: TableSpec, source: str, first_line: int | None) -> np.ndarray:
    assert spec.label is not None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # few distinct values: canonicalise those only
    canonical = [canonical_value(u) for u in uniques]
    anomalous = np.array([c in spec.label.anomaly for c in canonical] + [False])
    known = np.array([c in spec.label.anomaly or c in spec.label.normal for c in canonical] + [False])
    row = first_bad_row(~known[codes])  # code -1 (a missing label) picks the trailing False
    if row is not None:
        raise DataFormatError(f"{source}: column {spec.label.column!r}, {line_or_row(first_line, row)}: label "
                              f"{values.iloc[row]!r} is not one of the declared values ({spec.label.shown}; "
                              f"{spec.key('label')})")
    return anomalous[codes].astype(np.int8)
