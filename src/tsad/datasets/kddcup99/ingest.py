"""KDD Cup 99's ingest node and spec: the normal training records and every test record -> typed frames
(``tsad.core.frames``)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from tsad.core.errors import DataFormatError
from tsad.datasets.kddcup99.files import NORMAL, encode_records, one_hot_categories, record_classes
from tsad.datasets.spec import DatasetSpec

logger = logging.getLogger(__name__)


def ingest_kddcup99(source_train: pd.DataFrame, source_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ingest node: the normal records of the training file, and every record of the test file, typed.

    Returns:
        Typed training frame (normal records only, label 0) and test frame (label 1 = attack); both indexed by
        ``step``, the record's position in its file, with the numeric and one-hot features as float32.

    Raises:
        DataFormatError: An unknown class, or a training file without normal records.
    """
    train_classes, test_classes = record_classes(source_train), record_classes(source_test)
    normal = (train_classes == NORMAL).to_numpy()
    if not normal.any():
        raise DataFormatError(f"{source_train.attrs.get('source')}: no 'normal.' records to train on")
    train = source_train.iloc[np.flatnonzero(normal)]
    train.attrs = dict(source_train.attrs)
    logger.info("%s: training on the %d normal records of %d (%d attack records left out)",
                source_train.attrs.get("source"), int(normal.sum()), len(normal), int((~normal).sum()))
    categories = one_hot_categories(train)
    typed_train = encode_records(train, categories, np.zeros(len(train), dtype=np.int8))
    typed_test = encode_records(source_test, categories, (test_classes != NORMAL).to_numpy())
    typed_train.attrs = {"source": source_train.attrs.get("source", "kddcup99")}
    typed_test.attrs = {"source": source_test.attrs.get("source", "kddcup99")}
    return typed_train, typed_test


SPECS = {"kddcup99": DatasetSpec(ingest=ingest_kddcup99)}
