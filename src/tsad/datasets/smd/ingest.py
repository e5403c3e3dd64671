"""SMD's and ASD's ingest node and specs: the selected machines of both splits -> typed frames
(``tsad.core.frames``), and the per-metric test labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tsad.connectors.entities import EntitySource, read_entities, typed_entities
from tsad.core.frames import ENTITY
from tsad.datasets.smd.files import CHANNEL_LABEL_PREFIX
from tsad.datasets.spec import DatasetSpec


def ingest_server_machines(source_train: EntitySource, source_test: EntitySource,
                           options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Type SMD or ASD machines: ``dim_*`` float32 channels, int8 test labels, and per-metric test labels.

    Args:
        source_train: Training split (``SmdFolderDataset``); unlabelled (it may contain anomalies).
        source_test: Test split with ``label`` and the ``label:dim_*`` columns of the interpretation labels.
        options: ``entities`` (names or patterns, or null for every machine with train and test files) and
            ``exclude``.

    Returns:
        ``raw_train``, ``raw_test`` and ``channel_labels_test``: the per-metric labels as int8 columns named
        after the channels, on ``raw_test``'s index (1 = the interpretation label names this metric).
        They are a separate output because every stage treats each column but ``label`` as a channel.
    """
    train, test = read_entities(source_train, source_test, options)
    per_channel = {}
    for entity, frame in test.items():
        columns = [c for c in frame.columns if c.startswith(CHANNEL_LABEL_PREFIX)]
        per_channel[entity] = frame[columns].rename(columns=lambda c: c[len(CHANNEL_LABEL_PREFIX):])
        test[entity] = frame.drop(columns=columns)
    raw_train, raw_test = typed_entities(train, source_train), typed_entities(test, source_test)
    channel_labels = pd.concat(per_channel, names=[ENTITY]).astype(np.int8)
    channel_labels.attrs = {"source": source_test.location}
    return raw_train, raw_test, channel_labels


# The ingest node takes data.<ds>.ingestion (the machines) and also returns <ds>.channel_labels_test.
_SERVER_MACHINES = DatasetSpec(ingest=ingest_server_machines, ingest_parameters=True,
                               extra_outputs=("channel_labels_test",))
SPECS = {"smd": _SERVER_MACHINES, "asd": _SERVER_MACHINES}
