"""The files of a declared dataset's side (``tsad.connectors.table.listing``): globs over folders, and entity names
that stay unique across folders."""

from __future__ import annotations

import pytest
from test_generic import LABEL, ingest, plant_frame

from tsad.connectors.table.listing import list_files
from tsad.connectors.table.source_spec import table_spec
from tsad.core.errors import DataFormatError
from tsad.core.frames import split_entities


def rig(tmp_path, side: str, names: list[str]) -> None:
    for i, name in enumerate(names):
        path = tmp_path / side / name
        path.parent.mkdir(parents=True, exist_ok=True)
        plant_frame(80, seed=i, start="2024-01-02" if side == "test" else "2024-01-01").to_csv(path, index=False)


def test_a_glob_over_folders_names_entities_by_their_path_below_the_fixed_prefix(tmp_path):
    names = ["valve_a/0.csv", "valve_b/0.csv", "valve_b/1.csv"]
    rig(tmp_path, "train", names)
    rig(tmp_path, "test", names[::-1])
    train, test = ingest({"train": str(tmp_path / "train" / "*" / "*.csv"),
                          "test": str(tmp_path / "test" / "*" / "*.csv"), "timestamp": "time", "label": LABEL})
    assert list(split_entities(train)) == ["valve_a/0", "valve_b/0", "valve_b/1"]
    assert list(split_entities(test)) == list(split_entities(train))  # matched by name, not by listing order
    assert train.attrs["source"] == str(tmp_path / "train" / "*" / "*.csv")


def test_entities_of_one_folder_keep_their_file_names(tmp_path):
    rig(tmp_path, "train", ["pump-2.csv", "pump-1.csv"])
    spec = table_spec({"train": str(tmp_path / "train" / "pump-*.csv"), "split": {"fraction": 0.5}}, "plant")
    assert list(list_files(spec.train, spec, "k").files) == ["pump-1", "pump-2"]


def test_a_glob_whose_fixed_prefix_is_missing_names_that_folder(tmp_path):
    spec = table_spec({"train": str(tmp_path / "nothere" / "*" / "*.csv"), "split": {"fraction": 0.5}}, "plant")
    with pytest.raises(DataFormatError, match=f"{tmp_path / 'nothere'}: folder not found \\(k;"):
        list_files(spec.train, spec, "k")
    (tmp_path / "nothere").mkdir()
    with pytest.raises(DataFormatError, match=r"no data file .* found \(k\)"):
        list_files(spec.train, spec, "k")


def test_two_files_that_would_be_the_same_entity_are_refused(tmp_path):
    rig(tmp_path, "train", ["a/0.csv", "b/x.csv"])
    plant_frame(10).to_parquet(tmp_path / "train" / "a" / "0.parquet")
    spec = table_spec({"train": str(tmp_path / "train" / "*" / "*"), "split": {"fraction": 0.5}}, "plant")
    with pytest.raises(DataFormatError, match=r"would be entity 'a/0'; keep one of them \(k\)"):
        list_files(spec.train, spec, "k")
