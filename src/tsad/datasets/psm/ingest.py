"""PSM's ingest node and spec: the cells of the train and test splits -> typed frames (``tsad.core.frames``)."""

from __future__ import annotations

import pandas as pd

from tsad.core.errors import DataFormatError
from tsad.datasets.psm.files import LABEL_COLUMN, parse_psm_frame
from tsad.datasets.spec import DatasetSpec


def ingest_psm(source_train: pd.DataFrame, source_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ingest node: type PSM's train split (unlabelled, taken as normal) and labelled test split.

    Raises:
        DataFormatError: The test split has no labels (its dataset needs ``label_filepath``), or any parse
            error.
    """
    if LABEL_COLUMN not in source_test.columns:
        raise DataFormatError(f"{source_test.attrs.get('source', 'PSM test split')}: no labels; PSM's test split "
                              "needs test_label.csv (set label_filepath on psm.source_test in the catalog)")
    train, test = parse_psm_frame(source_train), parse_psm_frame(source_test)
    if list(train.columns) != list(test.columns):
        raise DataFormatError(f"{source_test.attrs.get('source')}: metrics differ from the training split "
                              f"({list(test.columns)[:5]}... vs {list(train.columns)[:5]}...)")
    train.attrs = {"source": source_train.attrs.get("source", "psm")}
    test.attrs = {"source": source_test.attrs.get("source", "psm")}
    return train, test


SPECS = {"psm": DatasetSpec(ingest=ingest_psm)}
