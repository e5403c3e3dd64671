"""MSL's and SMAP's ingest node and specs: the selected channels of both splits -> typed frames
(``tsad.core.frames``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tsad.connectors.entities import EntitySource, read_entities, typed_entities
from tsad.datasets.spec import DatasetSpec


def ingest_channels(source_train: EntitySource, source_test: EntitySource,
                    options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type MSL or SMAP channels: ``value`` and ``cmd_*`` float32 channels, int8 test labels.

    Args:
        source_train: Training split (``TelemanomFolderDataset``); unlabelled.
        source_test: Test split, labelled from ``labeled_anomalies.csv``.
        options: ``entities`` and ``exclude`` (channel ids such as ``P-2``, or patterns such as ``A-*``).
    """
    train, test = read_entities(source_train, source_test, options)
    return typed_entities(train, source_train), typed_entities(test, source_test)


# The ingest node takes data.<ds>.ingestion (the channels).
_CHANNELS = DatasetSpec(ingest=ingest_channels, ingest_parameters=True)
SPECS = {"msl": _CHANNELS, "smap": _CHANNELS}
