"""The ingestion node refuses, before anything is saved, what a later node of the data pipeline would refuse."""

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from tsad.core.errors import DataFormatError
from tsad.pipelines.ingestion.pipeline import ingestion_template

CLEANING = {"nan_policy": "error", "max_fill_fraction": 0.01, "drop_constant": True}
WINDOWING = {"window": 12, "stride": 1, "validation_fraction": 0.2}


def ingest_frames(source_train, source_test):
    """A dataset's ingest function: here the sources are already typed frames."""
    return source_train.copy(), source_test.copy()


def run_ingestion(train, test, cleaning=CLEANING, windowing=WINDOWING):
    catalog = DataCatalog({"source_train": MemoryDataset(train), "source_test": MemoryDataset(test),
                           "params:ingestion": MemoryDataset({}),
                           "params:cleaning": MemoryDataset(cleaning), "params:windowing": MemoryDataset(windowing),
                           "raw_train": MemoryDataset(), "raw_test": MemoryDataset()})
    SequentialRunner().run(ingestion_template(ingest_frames), catalog)
    return catalog.load("raw_train"), catalog.load("raw_test")


def test_valid_frames_pass_unchanged(train_frame, test_frame):
    raw_train, raw_test = run_ingestion(train_frame, test_frame)
    assert raw_train.equals(train_frame) and raw_test.equals(test_frame)


def test_the_node_keeps_the_name_of_the_datasets_ingest_function():
    (node,) = ingestion_template(ingest_frames).nodes
    assert node.func.__name__ == "ingest_frames" and node.inputs[-2:] == ["params:cleaning", "params:windowing"]


@pytest.mark.parametrize(("case", "message"), [
    ("short_test", r"test data: 8 rows after cleaning, fewer than one window \(12\); lower windowing.window"),
    ("short_train", r"training data: 30 rows cannot give a fit part .* lower windowing.window"),
    ("nan", r"column 'c2', row 7 .* set cleaning.nan_policy"),
    ("every_channel_constant", r"every channel is constant in training"),
])
def test_what_a_later_node_would_refuse_is_refused_by_the_ingestion_node(train_frame, test_frame, case, message):
    train, test = train_frame, test_frame
    if case == "short_test":
        test = test_frame.iloc[:8]
    elif case == "short_train":
        train = train_frame.iloc[:30]
    elif case == "nan":
        train = train_frame.copy()
        train.iloc[7, 2] = np.nan
    else:
        train = train_frame.copy()
        train[[c for c in train.columns if c != "label"]] = 1.0
    with pytest.raises(DataFormatError, match=message):
        run_ingestion(train, test)
