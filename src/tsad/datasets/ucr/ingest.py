"""The UCR archive's ingest node and spec: the selected series' training prefixes and the rest -> typed frames
(``tsad.core.frames``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tsad.connectors.entities import EntitySource, read_entities, typed_entities
from tsad.datasets.spec import DatasetSpec


def ingest_ucr(source_train: EntitySource, source_test: EntitySource,
               options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type UCR archive series: the training prefix and the rest (``value``, ``label``), steps = file rows.

    Args:
        source_train: Training prefixes (``UcrArchiveDataset``), all normal.
        source_test: The rest of each series, with its one labelled anomaly.
        options: ``entities`` and ``exclude`` (names ``<NNN>_<name>`` or patterns such as ``00*``).
    """
    train, test = read_entities(source_train, source_test, options)
    return typed_entities(train, source_train), typed_entities(test, source_test)


# The ingest node takes data.ucr.ingestion (the series).
SPECS = {"ucr": DatasetSpec(ingest=ingest_ucr, ingest_parameters=True)}
