"""The "zero known label" protocol at ingestion (ingestion.zero_label): the test split cut in time per entity, for
any dataset's ingest function."""

import numpy as np
import pandas as pd
import pytest
from conftest import entity_frame
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from tsad.config import ParameterError, dataset_parameters
from tsad.core.errors import DataFormatError
from tsad.pipelines.ingestion.pipeline import ingestion_template
from tsad.pipelines.ingestion.zero_label import zero_label_options, zero_label_split

CLEANING = {"nan_policy": "error", "max_fill_fraction": 0.01, "drop_constant": True}
WINDOWING = {"window": 12, "stride": 1, "validation_fraction": 0.2}


def labelled(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, np.int8)
    labels[n // 4:n // 4 + 5] = 1  # an anomaly in what becomes training data
    labels[-10:-5] = 1
    return pd.DataFrame({"a": rng.normal(size=n).astype(np.float32), "b": rng.normal(size=n).astype(np.float32),
                         "label": labels}, index=pd.RangeIndex(n, name="step"))


def test_each_entity_is_cut_in_time_and_the_training_labels_are_dropped():
    test = entity_frame({"m1": labelled(100, 0), "m2": labelled(50, 1)})
    test.attrs = {"source": "test.pkl"}
    train, rest, keep = zero_label_split(test, 0.6)
    assert "label" not in train.columns and list(rest.columns) == ["a", "b", "label"]
    for entity, n, cut in (("m1", 100, 60), ("m2", 50, 30)):
        whole = test.xs(entity, level="entity")
        pd.testing.assert_frame_equal(train.xs(entity, level="entity"), whole.iloc[:cut][["a", "b"]])
        pd.testing.assert_frame_equal(rest.xs(entity, level="entity"), whole.iloc[cut:])
        assert len(whole) == n
    assert keep.sum() == len(rest) == 40 + 20 and rest.index.equals(test.index[keep])
    assert "test.pkl" in train.attrs["source"] and "zero_label" in rest.attrs["source"]


def test_one_series_and_options_out_of_range():
    train, rest, _ = zero_label_split(labelled(100, 2), 0.8)  # SWaT's: test = the last 20 %
    assert len(train) == 80 and rest.index[0] == 80 and len(rest) == 20
    with pytest.raises(ValueError, match=r"train_split 0.001 leaves no training or no test row in entity 'm2'"):
        zero_label_split(entity_frame({"m1": labelled(2000, 0), "m2": labelled(50, 1)}), 0.001)
    assert zero_label_options({"zero_label": None}) is None and zero_label_options({}) is None
    with pytest.raises(ValueError, match=r"ingestion.zero_label.train_split must be in \(0, 1\), got 1.5"):
        zero_label_options({"zero_label": {"train_split": 1.5}})
    with pytest.raises(ParameterError, match=r"data.x.ingestion.zero_label: unknown parameter\(s\) \['split'\]"):
        dataset_parameters({}, {"x": {"ingestion": {"zero_label": {"split": 0.6}}}})


def ingest_with_options(source_train, source_test, options):
    """A multi-entity dataset's ingest: takes the ingestion options, returns per-row extra labels of raw_test."""
    assert options == {"entities": None}  # the protocol's key is the template's, not the reader's
    extra = pd.DataFrame({"a": np.int8(0), "b": np.int8(1)}, index=source_test.index)
    return source_train.copy(), source_test.copy(), extra


def run(ingest, parameters, ingestion, test, windowing=WINDOWING):
    train = entity_frame({"m1": labelled(500, 5)}).drop(columns="label")  # the dataset's own training files
    catalog = DataCatalog({"source_train": MemoryDataset(train), "source_test": MemoryDataset(test),
                           "params:ingestion": MemoryDataset(ingestion), "params:cleaning": MemoryDataset(CLEANING),
                           "params:windowing": MemoryDataset(windowing), "raw_train": MemoryDataset(),
                           "raw_test": MemoryDataset(), "channel_labels_test": MemoryDataset()})
    SequentialRunner().run(ingestion_template(ingest, parameters=parameters, extra_outputs=("channel_labels_test",)),
                           catalog)
    return [catalog.load(name) for name in ("raw_train", "raw_test", "channel_labels_test")]


def test_the_ingestion_node_applies_the_protocol_after_the_datasets_ingest_and_checks_the_result():
    test = entity_frame({"m1": labelled(200, 3), "m2": labelled(100, 4)})
    raw_train, raw_test, extra = run(ingest_with_options, True, {"entities": None, "zero_label": {"train_split": 0.6}},
                                     test)
    assert len(raw_train) == 120 + 60 and len(raw_test) == 80 + 40 and "label" not in raw_train.columns
    assert raw_test.index.equals(extra.index)  # the per-row extra output is cut like the test split
    last_train = raw_train.index.to_frame().groupby(level="entity")["step"].max()
    first_test = raw_test.index.to_frame().groupby(level="entity")["step"].min()
    assert last_train.to_dict() == {"m1": 119, "m2": 59} and first_test.to_dict() == {"m1": 120, "m2": 60}
    with pytest.raises(DataFormatError, match="fewer than one window"):  # the check runs on the cut frames
        run(ingest_with_options, True, {"entities": None, "zero_label": {"train_split": 0.9}}, test,
            WINDOWING | {"window": 15})
