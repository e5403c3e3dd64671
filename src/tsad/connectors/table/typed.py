"""One file's cells as a typed frame (``tsad.core.frames``): the channels as float32, the labels as 0/1 from the
declared values, on the file's time index."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsad.connectors.table.reading import line_or_row
from tsad.connectors.table.source_spec import TableSpec, canonical_value
from tsad.connectors.table.times import time_index
from tsad.core.errors import DataFormatError, first_bad_row
from tsad.core.frames import LABEL


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
    index = time_index(cells, spec, source, first_line)
    out = pd.DataFrame({c: cells[c].to_numpy(dtype=np.float32) for c in attrs["channels"]}, index=index)
    if labelled and attrs["label"]:
        out[LABEL] = _labels(cells[attrs["label"]], spec, source, first_line)
    out.attrs = {"source": source, "first_line": first_line}
    return out


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
