"""WADI's ingest node and spec: the cells of the normal and attack files -> typed frames (``tsad.core.frames``)."""

from __future__ import annotations

import logging

import pandas as pd

from tsad.datasets.spec import DatasetSpec
from tsad.datasets.wadi.files import A2_LABEL_COLUMN, WADI_A1_ATTACK_TABLE, parse_wadi_frame

logger = logging.getLogger(__name__)


def ingest_wadi(source_train: pd.DataFrame, source_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ingest node: type a WADI normal file and attack file (A1, A2, or the simulated plant's A1-format files).

    The attack file is labelled from its label column (A2), else from the attack table its source carries
    (``attacks_path`` of the dataset; the simulator's own table), else from the A1 table ``WADI_A1_ATTACKS``.

    Returns:
        Typed training and test frames; ``attrs["source"]`` keeps each file path for later errors.
    """
    train = parse_wadi_frame(source_train, source_train.attrs.get("attacks"))
    test_attacks = source_test.attrs.get("attacks")
    if test_attacks is None and A2_LABEL_COLUMN not in source_test.columns:
        logger.info("%s: no label column and no attack table given; using %s", source_test.attrs.get("source"),
                    WADI_A1_ATTACK_TABLE["source"])
        test_attacks = WADI_A1_ATTACK_TABLE
    test = parse_wadi_frame(source_test, test_attacks)
    train.attrs = {"source": source_train.attrs.get("source", "wadi")}
    test.attrs = {"source": source_test.attrs.get("source", "wadi")}
    return train, test


# The simulated network by default (conf/base/catalog/raw/wadi.yml).
SPECS = {"wadi": DatasetSpec(ingest=ingest_wadi)}
