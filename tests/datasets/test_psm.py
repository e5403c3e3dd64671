"""PSM files as distributed (train.csv, test.csv, test_label.csv) and every bad-input case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from tsad.core.errors import DataFormatError
from tsad.core.frames import validate_typed_frame
from tsad.datasets import PsmDataset
from tsad.datasets.psm.files import TIME_COLUMN, parse_psm_frame, read_psm_csv
from tsad.datasets.psm.ingest import ingest_psm

FEATURES = [f"feature_{i}" for i in range(25)]


def write_psm(folder: Path, n_train: int = 50, n_test: int = 40, seed: int = 0) -> dict[str, Path]:
    """train.csv, test.csv and test_label.csv laid out like eBay's release (minutes as floats, NaN cells)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, start, n in (("train", 0, n_train), ("test", n_train, n_test)):
        frame = pd.DataFrame(rng.uniform(0, 1, size=(n, 25)).round(6), columns=FEATURES)
        frame.insert(0, TIME_COLUMN, np.arange(start, start + n, dtype=float))
        frame.iloc[3, 7] = np.nan
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    labels = np.zeros(n_test, dtype=int)
    labels[10:18] = 1
    paths["label"] = folder / "test_label.csv"
    pd.DataFrame({TIME_COLUMN: np.arange(n_train, n_train + n_test, dtype=float), "label": labels}).to_csv(
        paths["label"], index=False)
    return paths


def test_round_trip_and_the_timestamp_is_the_index_not_a_feature(tmp_path):
    paths = write_psm(tmp_path)
    train, test = ingest_psm(read_psm_csv(paths["train"]), read_psm_csv(paths["test"], paths["label"]))
    for frame, start, n in ((train, 0, 50), (test, 50, 40)):
        assert list(frame.columns) == [*FEATURES, "label"]  # 25 metrics: none dropped, no timestamp column
        assert frame.index.name == "step" and frame.index.tolist() == list(range(start, start + n))
        assert all(frame[c].dtype == np.float32 for c in FEATURES) and frame["label"].dtype == np.int8
        validate_typed_frame(frame, "psm")
    original = pd.read_csv(paths["test"])
    np.testing.assert_allclose(test[FEATURES].to_numpy(), original[FEATURES].to_numpy(dtype=np.float32))
    assert np.isnan(train["feature_6"].iloc[3])  # NaN stays NaN for the cleaning policy
    assert (train["label"] == 0).all()
    assert np.flatnonzero(test["label"].to_numpy()).tolist() == list(range(10, 18))
    assert test.attrs == {"source": str(paths["test"])}


def test_dataset_reads_data_and_labels(tmp_path):
    paths = write_psm(tmp_path)
    loaded = PsmDataset(filepath=str(paths["test"]), label_filepath=str(paths["label"])).load()
    assert "label" in loaded.columns and loaded.attrs["label_source"] == str(paths["label"])


def test_missing_label_file_is_named(tmp_path):
    paths = write_psm(tmp_path)
    paths["label"].unlink()
    with pytest.raises(DatasetError, match=r"test_label.csv: file not found. PSM is not shipped"):
        PsmDataset(filepath=str(paths["test"]), label_filepath=str(paths["label"])).load()
    with pytest.raises(DataFormatError, match=r"no labels; PSM's test split needs test_label.csv"):
        ingest_psm(read_psm_csv(paths["train"]), read_psm_csv(paths["test"]))


def test_missing_data_file_says_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match=r"train.csv: file not found. PSM is not shipped with tsad: put "
                                              r"train.csv, test.csv and test_label.csv"):
        PsmDataset(filepath=str(tmp_path / "PSM" / "train.csv")).load()


def test_label_length_differs_from_data_length(tmp_path):
    paths = write_psm(tmp_path)
    labels = pd.read_csv(paths["label"]).iloc[:-1]
    labels.to_csv(paths["label"], index=False)
    with pytest.raises(DataFormatError, match=r"test_label.csv: 39 labels for the 40 rows of .*test.csv"):
        read_psm_csv(paths["test"], paths["label"])


def test_label_timestamps_differ_from_data(tmp_path):
    paths = write_psm(tmp_path)
    labels = pd.read_csv(paths["label"])
    labels.loc[5, TIME_COLUMN] = 999
    labels.to_csv(paths["label"], index=False)
    with pytest.raises(DataFormatError, match=r"test_label.csv: line 7: timestamp_\(min\) 999.0 differs from 55.0"):
        read_psm_csv(paths["test"], paths["label"])


def test_unknown_label_value(tmp_path):
    paths = write_psm(tmp_path)
    labels = pd.read_csv(paths["label"])
    labels.loc[4, "label"] = 2
    labels.to_csv(paths["label"], index=False)
    with pytest.raises(DataFormatError, match=r"test_label.csv: column 'label', line 6: unknown label 2.0"):
        parse_psm_frame(read_psm_csv(paths["test"], paths["label"]))


def test_wrong_column_count(tmp_path):
    paths = write_psm(tmp_path)
    pd.read_csv(paths["train"]).iloc[:, :-1].to_csv(paths["train"], index=False)
    with pytest.raises(DataFormatError, match=r"train.csv: the header has 25 columns .* expected 26"):
        read_psm_csv(paths["train"])


def test_timestamp_not_first_is_rejected(tmp_path):
    paths = write_psm(tmp_path)
    frame = pd.read_csv(paths["train"])
    frame[[*FEATURES, TIME_COLUMN]].to_csv(paths["train"], index=False)
    with pytest.raises(DataFormatError, match="is this a PSM file"):
        read_psm_csv(paths["train"])


def test_a_short_row_and_a_non_numeric_cell_name_their_line(tmp_path):
    paths = write_psm(tmp_path)
    lines = paths["train"].read_text().splitlines()
    lines[9] = lines[9].rsplit(",", 1)[0]
    paths["train"].write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"train.csv: line 10 has 25 fields, expected 26"):
        read_psm_csv(paths["train"])
    paths = write_psm(tmp_path / "b")
    lines = paths["train"].read_text().splitlines()
    fields = lines[9].split(",")
    fields[4] = "oops"
    lines[9] = ",".join(fields)
    paths["train"].write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"column 'feature_3', line 10: 'oops' is not a number"):
        read_psm_csv(paths["train"])


def test_repeated_or_fractional_minutes(tmp_path):
    paths = write_psm(tmp_path)
    raw = read_psm_csv(paths["train"])
    raw.loc[6, TIME_COLUMN] = 5.0
    with pytest.raises(DataFormatError, match=r"line 8: repeated minute 5 after 5"):
        parse_psm_frame(raw)
    raw.loc[6, TIME_COLUMN] = 6.5
    with pytest.raises(DataFormatError, match=r"line 8: 6.5 is not a whole number of minutes"):
        parse_psm_frame(raw)
