"""One declared file read and typed (``tsad.connectors.table.reading``, ``typed``, ``times``): damaged and unusual files
are named, the settings that would fix them are named, and what is accepted without a word is logged and noted."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
from test_generic import CHANNELS, LABEL, ingest, plant_frame

from tsad.core.errors import DataFormatError
from tsad.pipelines.cleaning.nodes import clean_training_series


def test_a_truncated_gzip_file_is_named(tmp_path):
    path = tmp_path / "plant.csv.gz"
    plant_frame(3000).to_csv(path, index=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=re.escape(f"{path}: cannot read the file (")) as error:
        ingest({"train": str(path), "split": {"fraction": 0.5}, "timestamp": "time"})
    assert "truncated or damaged" in str(error.value)


def test_a_byte_order_mark_is_no_part_of_the_first_name(tmp_path, caplog):
    path = tmp_path / "excel.csv"
    path.write_text(plant_frame().to_csv(index=False), encoding="utf-8-sig")
    with caplog.at_level(logging.INFO):
        train, _ = ingest({"train": str(path), "split": {"fraction": 0.5}, "timestamp": "time", "label": LABEL})
    assert list(train.columns) == [*CHANNELS, "label"]
    note = f"{path}: a UTF-8 byte-order mark at the start of the file, ignored"
    assert note in train.attrs["notes"] and note in caplog.messages


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_value_beyond_float32_is_refused_as_the_file_writes_it(tmp_path, suffix):
    frame = plant_frame(labels=False).drop(columns="operator note")
    frame["level"] = frame["level"].astype(object)
    frame.loc[6, "level"] = "1e308"
    path = tmp_path / f"plant.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
        where, shown = "line 8", "'1e308'"
    else:
        frame.astype({"level": float}).to_parquet(path)
        where, shown = "row 6", "'1e+308'"
    with pytest.raises(DataFormatError, match=re.escape(f"{path}: column 'level', {where}: {shown} is beyond the "
                                                        "range of float32")) as error:
        ingest({"train": str(path), "split": {"fraction": 0.5}, "timestamp": "time"})
    assert "datasets.plant.source.exclude_channels" in str(error.value)


def test_an_explicit_infinity_is_left_to_the_cleaning_policy(tmp_path):
    frame = plant_frame(labels=False)
    frame["level"] = frame["level"].astype(object)
    frame.loc[6, "level"], frame.loc[9, "level"] = "inf", "-Infinity"
    frame.to_csv(tmp_path / "plant.csv", index=False)
    train, _ = ingest({"train": str(tmp_path / "plant.csv"), "split": {"fraction": 0.5}, "timestamp": "time"})
    assert np.isposinf(train["level"].iloc[6]) and np.isneginf(train["level"].iloc[9])


def test_a_semicolon_file_read_with_commas_names_the_separator_setting(tmp_path):
    path = tmp_path / "plant.csv"
    plant_frame(labels=False).to_csv(path, index=False, sep=";")
    hint = "the header is one column holding ';': set datasets.plant.source.csv.sep to ';'"
    for timestamp in ("time", None):
        with pytest.raises(DataFormatError, match=re.escape(hint)):
            ingest({"train": str(path), "split": {"fraction": 0.5}, "timestamp": timestamp})
    with pytest.raises(DataFormatError, match=re.escape(hint)):
        ingest({"train": str(path), "split": {"fraction": 0.5}, "channels": ["flow"]})
    train, _ = ingest({"train": str(path), "split": {"fraction": 0.5}, "timestamp": "time", "csv": {"sep": ";"}})
    assert list(train.columns) == CHANNELS


def test_a_decimal_comma_in_a_numeric_column_names_the_decimal_setting(tmp_path):
    frame = plant_frame(labels=False)
    frame["level"] = frame["level"].astype(object)
    frame.loc[3, "level"] = "0,5"
    frame.to_csv(tmp_path / "plant.csv", index=False, sep=";")
    with pytest.raises(DataFormatError, match=r"line 5: '0,5' is not a number .*; for decimal commas set "
                                              r"datasets.plant.source.csv.decimal to ','"):
        ingest({"train": str(tmp_path / "plant.csv"), "split": {"fraction": 0.5}, "timestamp": "time",
                "csv": {"sep": ";"}})


def test_notes_reach_the_cleaning_report_through_parquet(tmp_path):
    frame = plant_frame()
    frame["time"] = pd.to_datetime(frame["time"]).dt.tz_localize("Europe/Paris").map(lambda t: t.isoformat())
    frame.to_csv(tmp_path / "train.csv", index=False)
    plant_frame(start="2024-01-02").to_csv(tmp_path / "test.csv", index=False)
    train, test = ingest({"train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv"),
                          "timestamp": "time", "label": LABEL})
    left_out = f"{tmp_path / 'train.csv'}: left out 1 column(s) that are not numeric channels: ['operator note']"
    utc = f"{tmp_path / 'train.csv'}: column 'time': times with a UTC offset (such as '2024-01-01T00:00:00+01:00') " \
          "converted to UTC"
    assert train.attrs["notes"] == [left_out, utc] and train.index[0] == pd.Timestamp("2023-12-31 23:00")
    train.to_parquet(tmp_path / "raw_train.parquet")  # the raw layer is Parquet: pandas keeps attrs there
    test.to_parquet(tmp_path / "raw_test.parquet")
    raw_train, raw_test = (pd.read_parquet(tmp_path / f"raw_{split}.parquet") for split in ("train", "test"))
    _, report = clean_training_series(raw_train, raw_test, {"nan_policy": "error"})
    assert report["notes"][:2] == [left_out, utc]
    assert f"{tmp_path / 'test.csv'}: left out 1 column(s) that are not numeric channels: ['operator note']" \
        in report["notes"]
