"""Ingestion nodes: a source file's cells -> the typed frame contract (see ``tsad.core.frames``)."""

from __future__ import annotations

import pandas as pd

from tsad.connectors.swat import parse_swat_frame


def ingest_swat(source: pd.DataFrame) -> pd.DataFrame:
    """Type a SWaT export: timestamp index, the 51 tags as float32 in SWaT order, int8 label.

    Args:
        source: Text cells from ``SwatExportDataset`` or ``SimulatedSwatDataset``.

    Returns:
        The typed frame; ``attrs["source"]`` keeps the file path for later error messages.

    Raises:
        DataFormatError: Naming the file, column and line of the first problem.
    """
    typed = parse_swat_frame(source)
    typed.attrs = {"source": source.attrs.get("source", "swat")}
    return typed
