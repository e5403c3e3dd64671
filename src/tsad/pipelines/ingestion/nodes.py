"""Ingestion nodes: source files' cells -> the typed-frame contract (see ``tsad.core.frames``).

Each dataset has one ingest function taking both splits, so that a bad file stops the node before either
split is saved: nothing partial is written and earlier versions stay as they were.
"""

from __future__ import annotations

import pandas as pd

from tsad.connectors.swat import parse_swat_frame


def ingest_swat(source_train: pd.DataFrame, source_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type SWaT exports: timestamp index, the 51 tags as float32 in SWaT order, int8 label.

    Args:
        source_train: Text cells of the normal file (``SwatExportDataset`` or ``SimulatedSwatDataset``).
        source_test: Text cells of the attack file.

    Returns:
        The typed training and test frames; ``attrs["source"]`` keeps each file path for later errors.

    Raises:
        DataFormatError: Naming the file, column and line of the first problem.
    """
    return _typed(source_train), _typed(source_test)


def _typed(source: pd.DataFrame) -> pd.DataFrame:
    typed = parse_swat_frame(source)
    typed.attrs = {"source": source.attrs.get("source", "swat")}
    return typed
