"""SWaT's ingest node and spec: the text cells of both exports -> typed frames (``tsad.core.frames``)."""

from __future__ import annotations

import pandas as pd

from tsad.datasets.spec import DatasetSpec
from tsad.datasets.swat.files import parse_swat_frame
from tsad.pipelines.serving.nodes import describe_swat_input


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
    typed.attrs = {"source": source.attrs.get("source", "swat"), "notes": typed.attrs["notes"]}
    return typed


# A registered SWaT model takes rows as SWaT's own files hold them (tsad.serving.swat_input_format).
SPECS = {"swat": DatasetSpec(ingest=ingest_swat, describe_input=describe_swat_input)}
