"""CICIDS2017's ingest node and spec: the benign flows of the training day and every flow of the test day -> typed
frames (``tsad.core.frames``)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from tsad.core.errors import DataFormatError
from tsad.datasets.cicids2017.files import BENIGN, parse_cicids_frame
from tsad.datasets.spec import DatasetSpec

logger = logging.getLogger(__name__)


def ingest_cicids(source_train: pd.DataFrame, source_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ingest node: the ``BENIGN`` flows of the training day and every flow of the test day, typed.

    Returns:
        Typed training frame (benign flows only, label 0) and test frame (label 1 = attack), indexed by
        ``step`` (the flow's position in its file).

    Raises:
        DataFormatError: A bad file (see ``read_cicids_csv``, ``flow_labels``), or a training day without
            benign flows.
    """
    train, train_labels = parse_cicids_frame(source_train)
    test, test_labels = parse_cicids_frame(source_test)
    benign = (train_labels == BENIGN).to_numpy()
    if not benign.any():
        raise DataFormatError(f"{source_train.attrs.get('source')}: no BENIGN flows to train on")
    if not benign.all():
        logger.info("%s: training on the %d BENIGN flows of %d (%d attack flows left out: %s)",
                    source_train.attrs.get("source"), int(benign.sum()), len(benign), int((~benign).sum()),
                    train_labels[~benign].value_counts().to_dict())
    train = train.iloc[np.flatnonzero(benign)].copy()
    train["label"] = np.zeros(len(train), dtype=np.int8)
    test["label"] = (test_labels != BENIGN).to_numpy().astype(np.int8)
    logger.info("%s: %d flows, %d attacks (%s)", source_test.attrs.get("source"), len(test), int(test["label"].sum()),
                test_labels[test_labels != BENIGN].value_counts().to_dict())
    train.attrs = {"source": source_train.attrs.get("source", "cicids2017")}
    test.attrs = {"source": source_test.attrs.get("source", "cicids2017")}
    return train, test


SPECS = {"cicids2017": DatasetSpec(ingest=ingest_cicids)}
