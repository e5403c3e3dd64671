"""Datasets declared in configuration: CSV or Parquet files read through one ``datasets.<name>.source`` block, and
every bad-input case (each error names the file, the column and a row)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from tsad.config import declared_sources, source_catalog_entries
from tsad.connectors.table.ingest import ingest_table
from tsad.connectors.table.source_spec import canonical_value, table_spec
from tsad.connectors.table.sources import table_model_input, table_source
from tsad.core.errors import DataFormatError
from tsad.core.frames import split_entities, validate_typed_frame
from tsad.datasets import TableSourceDataset
from tsad.datasets.registry import declared_datasets

CHANNELS = ["flow", "level", "pressure"]


def plant_frame(n: int = 120, start: str = "2024-01-01", seed: int = 0, labels: bool = True) -> pd.DataFrame:
    """A plant export as a user would have it: a text time column, three channels, a text label, a note."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)).round(5), columns=CHANNELS)
    frame.insert(0, "time", pd.date_range(start, periods=n, freq="min").strftime("%Y-%m-%d %H:%M:%S"))
    if labels:
        frame["state"] = np.where((np.arange(n) >= 50) & (np.arange(n) < 60), "Attack", "Normal")
    frame["operator note"] = "shift A"  # text: never a channel
    return frame


def ingest(source: dict, name: str = "plant") -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = table_spec(source, name)
    return ingest_table(table_source(spec, "train"), table_source(spec, "test"))


LABEL = {"column": "state", "anomaly": ["Attack"], "normal": ["Normal"]}


def test_csv_with_timestamps_and_text_labels(tmp_path):
    plant_frame(labels=False).to_csv(tmp_path / "train.csv", index=False)  # training data: unlabelled
    plant_frame(start="2024-01-02").to_csv(tmp_path / "test.csv", index=False)
    train, test = ingest({"train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv"),
                          "timestamp": "time", "label": LABEL})
    assert list(train.columns) == CHANNELS and list(test.columns) == [*CHANNELS, "label"]
    assert train.index.name == "timestamp" and test.index[0] == pd.Timestamp("2024-01-02")
    assert test["label"].dtype == np.int8 and test["label"].sum() == 10 and test["label"].iloc[50] == 1
    assert all(train[c].dtype == np.float32 for c in CHANNELS)
    np.testing.assert_allclose(test[CHANNELS].to_numpy(), plant_frame(start="2024-01-02")[CHANNELS].to_numpy(),
                               rtol=1e-6)
    validate_typed_frame(test, "test")


def test_parquet_without_labels_split_at_a_time(tmp_path):
    frame = plant_frame(200, labels=False).drop(columns="operator note")
    frame["time"] = pd.to_datetime(frame["time"])  # a real datetime column, as Parquet keeps it
    frame.set_index("time").to_parquet(tmp_path / "plant.parquet")  # the time saved as the index
    train, test = ingest({"train": str(tmp_path / "plant.parquet"), "split": {"at": "2024-01-01 02:00"},
                          "timestamp": "time"})
    assert len(train) == 120 and len(test) == 80 and "label" not in test.columns
    assert train.index[-1] < pd.Timestamp("2024-01-01 02:00") <= test.index[0]


def test_parquet_text_columns_of_numbers_are_channels_and_a_bad_cell_names_its_row(tmp_path):
    frame = pd.DataFrame({"flow": ["1.5", "2.0", "2.5", "3.0"], "level": [1.0, 2.0, 3.0, 4.0]})
    frame.to_parquet(tmp_path / "a.parquet")
    train, _ = ingest({"train": str(tmp_path / "a.parquet"), "split": {"fraction": 0.5}})
    assert list(train.columns) == ["flow", "level"] and train["flow"].tolist() == [1.5, 2.0]
    frame.loc[2, "flow"] = "2,5?"
    frame.to_parquet(tmp_path / "a.parquet")
    with pytest.raises(DataFormatError, match=re.escape(f"{tmp_path / 'a.parquet'}: column 'flow', row 2: '2,5?' "
                                                        "is not a number")):
        ingest({"train": str(tmp_path / "a.parquet"), "split": {"fraction": 0.5}})


def test_folder_of_entities_split_by_fraction_with_selection(tmp_path):
    folder = tmp_path / "machines"
    folder.mkdir()
    for i, name in enumerate(["pump-2", "pump-10", "pump-1", "fan"]):
        plant_frame(100, seed=i).to_csv(folder / f"{name}.csv", index=False)
    (folder / "README.md").write_text("not data")
    source = {"train": str(folder), "split": {"fraction": 0.6}, "timestamp": "time", "label": LABEL,
              "entities": ["pump-*"], "exclude": ["pump-10"]}
    train, test = ingest(source)
    assert list(split_entities(train)) == ["pump-1", "pump-2"]  # natural order, pattern and exclusion applied
    assert train.index.names == ["entity", "timestamp"]
    assert len(split_entities(train)["pump-1"]) == 60 and len(split_entities(test)["pump-1"]) == 40
    assert split_entities(test)["pump-2"]["label"].sum() == 0  # the anomaly (rows 50-59) is in the training part
    assert split_entities(train)["pump-2"]["label"].sum() == 10


def test_step_index_pieces_channels_by_pattern_and_decimal_commas(tmp_path):
    frame = plant_frame(60, labels=False).drop(columns="time")
    frame["temp_1"], frame["temp_2"] = 1.5, 2.5
    for i, piece in enumerate((frame.iloc[:30], frame.iloc[30:])):
        piece.to_csv(tmp_path / f"part{i}.csv", index=False, sep=";", decimal=",")
    train, test = ingest({"train": [str(tmp_path / "part0.csv"), str(tmp_path / "part1.csv")],
                          "split": {"at": 45}, "channels": ["temp_*", "flow"], "exclude_channels": ["temp_2"],
                          "csv": {"sep": ";", "decimal": ","}})
    assert list(train.columns) == ["flow", "temp_1"]  # file order
    assert train.index.tolist() == list(range(45)) and test.index.tolist() == list(range(45, 60))
    assert train["temp_1"].iloc[0] == np.float32(1.5)


def test_a_step_column_and_epoch_seconds(tmp_path):
    frame = plant_frame(50, labels=False).drop(columns="operator note")
    frame["time"] = np.arange(1_700_000_000, 1_700_000_050)
    frame["minute"] = np.arange(10, 60)
    frame.to_csv(tmp_path / "a.csv", index=False)
    train, _ = ingest({"train": str(tmp_path / "a.csv"), "split": {"fraction": 0.5},
                       "timestamp": {"column": "time", "unit": "s"}, "exclude_channels": ["minute"]})
    assert train.index[0] == pd.Timestamp(1_700_000_000, unit="s") and list(train.columns) == CHANNELS
    train, _ = ingest({"train": str(tmp_path / "a.csv"), "split": {"fraction": 0.5},
                       "timestamp": {"column": "minute", "kind": "step"}, "exclude_channels": ["time"]})
    assert train.index.name == "step" and train.index[0] == 10


def test_test_columns_in_another_order_are_put_in_the_training_order(tmp_path):
    plant_frame(labels=False).to_csv(tmp_path / "train.csv", index=False)
    plant_frame(start="2024-01-02")[["state", "pressure", "time", "flow", "level"]].to_csv(tmp_path / "test.csv",
                                                                                          index=False)
    _, test = ingest({"train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv"), "timestamp": "time",
                      "label": LABEL})
    assert list(test.columns) == [*CHANNELS, "label"]


def test_model_input_rows_of_new_data(tmp_path):
    plant_frame().to_csv(tmp_path / "test.csv", index=False)
    spec = table_spec({"train": str(tmp_path / "test.csv"), "split": {"fraction": 0.5}, "timestamp": "time",
                       "label": LABEL}, "plant")
    rows = table_model_input(spec)  # the whole file, the label left out
    assert list(rows.columns) == ["timestamp", *CHANNELS] and len(rows) == 120
    assert rows["flow"].dtype == np.float64


def test_model_input_rows_of_a_folder_have_an_entity_column(tmp_path):
    for name in ("b", "a"):
        plant_frame(30).to_csv(tmp_path / f"{name}.csv", index=False)
    spec = table_spec({"train": str(tmp_path), "split": {"fraction": 0.5}, "timestamp": "time"}, "plant")
    rows = table_model_input(spec, [str(tmp_path / "a.csv")])  # one file: a single series
    assert list(rows.columns) == ["timestamp", *CHANNELS]
    rows = table_model_input(spec)
    assert list(rows.columns) == ["entity", "timestamp", *CHANNELS]
    assert rows["entity"].tolist() == ["a"] * 30 + ["b"] * 30


def test_label_values_compare_by_value_and_case():
    assert canonical_value(1) == canonical_value("1.0") == canonical_value(1.0) == "1"
    assert canonical_value("Attack ") == canonical_value("attack")
    assert canonical_value(True) == canonical_value("True")
    assert canonical_value(0.5) != canonical_value(1)


# ------------------------------------------------------------------------------------------ bad input
@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    paths = {"train": tmp_path / "train.csv", "test": tmp_path / "test.csv"}
    plant_frame(labels=False).to_csv(paths["train"], index=False)
    plant_frame(start="2024-01-02").to_csv(paths["test"], index=False)
    return paths


def edit_cell(path: Path, line: int, column: str, value: str) -> None:
    """Replace one cell of a CSV file (``line`` counts from 1, the header being line 1)."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def source_of(files: dict[str, Path]) -> dict:
    return {"train": str(files["train"]), "test": str(files["test"]), "timestamp": "time", "label": LABEL}


def test_a_timestamp_that_does_not_parse(files):
    edit_cell(files["test"], 8, "time", "2024-01-02 25:99:00")
    with pytest.raises(DataFormatError, match=re.escape(f"{files['test']}: column 'time', line 8: cannot parse "
                                                        "'2024-01-02 25:99:00' as a timestamp")):
        ingest(source_of(files))


def test_a_timestamp_that_does_not_match_the_declared_format(files):
    source = source_of(files) | {"timestamp": {"column": "time", "format": "%d/%m/%Y %H:%M"}}
    with pytest.raises(DataFormatError, match=re.escape(f"{files['train']}: column 'time', line 2: cannot parse "
                                                        "'2024-01-01 00:00:00' as a timestamp with format")):
        ingest(source)


def test_a_label_outside_the_declared_values(files):
    edit_cell(files["test"], 12, "state", "Maintenance")
    with pytest.raises(DataFormatError, match=re.escape(f"{files['test']}: column 'state', line 12: label "
                                                        "'Maintenance' is not one of the declared values")):
        ingest(source_of(files))


def test_an_empty_label_is_not_a_declared_value(files):
    edit_cell(files["test"], 3, "state", "")
    with pytest.raises(DataFormatError, match=r"column 'state', line 3: label '' is not one of the declared"):
        ingest(source_of(files))


def test_channels_that_differ_between_training_and_test_files(files):
    test = pd.read_csv(files["test"]).rename(columns={"pressure": "pressure_2"})
    test.to_csv(files["test"], index=False)
    with pytest.raises(DataFormatError, match=re.escape(f"{files['test']}: channels differ from {files['train']}: "
                                                        "column 'pressure_2' is not in")) as error:
        ingest(source_of(files))
    assert "line 2 of" in str(error.value) and "missing ['pressure'], extra ['pressure_2']" in str(error.value)


def test_a_file_with_no_numeric_channel(files):
    frame = plant_frame(start="2024-01-02")[["time", "state", "operator note"]]
    frame["unit"] = "bar"
    frame.to_csv(files["test"], index=False)
    with pytest.raises(DataFormatError, match=re.escape(f"{files['test']}: no numeric channel; columns "
                                                        "['operator note', 'unit'] hold text")) as error:
        ingest(source_of(files))
    assert "line 2: {'operator note': 'shift A', 'unit': 'bar'}" in str(error.value)


def test_a_typo_in_an_otherwise_numeric_column(files):
    edit_cell(files["train"], 40, "level", "0.3O1")
    with pytest.raises(DataFormatError, match=re.escape(f"{files['train']}: column 'level', line 40: '0.3O1' is "
                                                        "not a number")):
        ingest(source_of(files))


def test_a_typo_in_a_declared_channel_past_the_type_sample(tmp_path):
    frame = plant_frame(40_000, labels=False)  # > 1 MiB: the typo is after the rows the types come from
    frame["flow"] = frame["flow"].astype(object)
    frame.loc[39_000, "flow"] = "n/a"
    frame.to_csv(tmp_path / "big.csv", index=False)
    for channels in (None, ["flow", "level"]):
        with pytest.raises(DataFormatError, match=re.escape(f"{tmp_path / 'big.csv'}: column 'flow', line 39002: "
                                                            "'n/a' is not a number")):
            ingest({"train": str(tmp_path / "big.csv"), "split": {"fraction": 0.5}, "timestamp": "time",
                    "channels": channels})


def test_a_row_with_the_wrong_number_of_fields(files):
    lines = files["test"].read_text().splitlines()
    lines[20] += ",extra"
    files["test"].write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=re.escape(f"{files['test']}: line 21 has 7 fields, expected 6")):
        ingest(source_of(files))


def test_duplicated_and_unsorted_times(files):
    edit_cell(files["train"], 6, "time", "2024-01-01 00:03:00")
    with pytest.raises(DataFormatError, match=r"column 'time', line 6: duplicated time '2024-01-01 00:03:00'"):
        ingest(source_of(files))
    edit_cell(files["train"], 6, "time", "2023-12-31 00:00:00")
    with pytest.raises(DataFormatError, match=r"column 'time', line 6: unsorted time"):
        ingest(source_of(files))


def test_missing_columns_and_files_name_the_setting(files, tmp_path):
    with pytest.raises(DataFormatError, match=r"no timestamp column 'Time' \(datasets.plant.source.timestamp\)"):
        ingest(source_of(files) | {"timestamp": "Time"})
    with pytest.raises(DataFormatError, match=r"datasets.plant.source.channels names 'flw', which matches no column"):
        ingest(source_of(files) | {"channels": ["flw"]})
    with pytest.raises(DataFormatError, match=r"test.csv: no label column 'status'"):
        ingest(source_of(files) | {"label": "status"})
    with pytest.raises(DataFormatError, match=r"nothere.csv: file not found \(datasets.plant.source.test"):
        ingest(source_of(files) | {"test": str(tmp_path / "nothere.csv")})


def test_a_split_that_leaves_a_side_empty(files):
    with pytest.raises(DataFormatError, match=r"train.csv: 120 rows .* the split at 2030-01-01 leaves no test rows"):
        ingest({"train": str(files["train"]), "split": {"at": "2030-01-01"}, "timestamp": "time"})


def test_configuration_errors_name_the_key():
    with pytest.raises(ValueError, match=r"datasets.p.source: unknown key\(s\) \['lable'\]"):
        table_spec({"train": "a.csv", "test": "b.csv", "lable": "x"}, "p")
    with pytest.raises(ValueError, match=r"datasets.p.source: give test files \(test\) or a split"):
        table_spec({"train": "a.csv"}, "p")
    with pytest.raises(ValueError, match=r"datasets.p.source.split.fraction must be a number in \(0, 1\)"):
        table_spec({"train": "a.csv", "split": {"fraction": 1.5}}, "p")
    with pytest.raises(ValueError, match=r"\['1'\] declared both anomalous and normal"):
        table_spec({"train": "a.csv", "test": "b.csv", "label": {"column": "y", "anomaly": [1], "normal": [1, 0]}}, "p")
    with pytest.raises(DatasetError, match=r"datasets.p.source.train: required"):
        TableSourceDataset(dataset="p", split="train", source={"test": "b.csv"})


def test_catalog_entries_and_dataset_specs_come_from_the_parameters():
    parameters = {"datasets": {"swat": {"windowing": {"window": 3}},
                               "plant": {"source": {"train": "a.csv", "split": {"fraction": 0.5}}}}}
    assert list(declared_sources(parameters)) == ["plant"]
    entries = source_catalog_entries(parameters, {"new_data": "new.csv"})
    assert set(entries) == {"plant.source_train", "plant.source_test", "plant.new_data"}
    assert entries["plant.new_data"]["filepath"] == "new.csv" and entries["plant.source_test"]["split"] == "test"
    assert set(declared_datasets({"plant": {}})) == {"plant"}
    with pytest.raises(ValueError, match=r"built-in datasets"):
        declared_datasets({"smd": {}})
    with pytest.raises(ValueError, match=r"letters, digits and underscores"):
        declared_datasets({"my.plant": {}})
