"""NAB's ingest node and specs: the selected series, cut in time or whole (TAnoGAN's protocol) -> typed frames
(``tsad.core.frames``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tsad.connectors.entities import EntitySource, read_entities, typed_entities
from tsad.datasets.nab.files import split_series
from tsad.datasets.spec import DatasetSpec


def ingest_nab(source_train: EntitySource, source_test: EntitySource,
               options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type NAB series (``value``, ``label``), each cut in time into a training and a test part.

    Args:
        source_train: The series (``NabFolderDataset``); each one's leading part becomes training data.
        source_test: The series again; each one's remaining part becomes test data.
        options: ``entities``, ``exclude`` (names ``<category>/<name>`` or patterns such as ``real*/*``),
            ``train_fraction`` (the leading share of each series used for training, default 0.15) and
            ``protocol``: ``split`` (default: the cut above) or ``paper``, TAnoGAN's transductive protocol
            (../shared/docs/methods.md §4.4) where training and test data are both the whole series.

    Returns:
        ``raw_train`` and ``raw_test``, both labelled from the NAB windows (the training part may hold
        labelled anomalies: NAB's windows are not restricted to the test part).
    """
    fraction = float(options.get("train_fraction", 0.15))
    protocol = options.get("protocol", "split")
    if protocol not in ("split", "paper"):
        raise ValueError(f"ingestion.protocol must be 'split' or 'paper', got {protocol!r}")
    train, test = read_entities(source_train, source_test, options)
    if protocol == "paper":
        return typed_entities(train, source_train), typed_entities(test, source_test)
    train = {e: split_series(frame, fraction)[0] for e, frame in train.items()}
    test = {e: split_series(frame, fraction)[1] for e, frame in test.items()}
    return typed_entities(train, source_train), typed_entities(test, source_test)


SPECS = {
    # The ingest node takes data.<ds>.ingestion (the series; train_fraction; TAnoGAN's protocol, datasets.nab.protocols
    # .paper, sets ingestion.protocol: paper).
    "nab": DatasetSpec(ingest=ingest_nab, ingest_parameters=True),
}
