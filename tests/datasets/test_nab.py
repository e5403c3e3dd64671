"""NAB as distributed: tiny series and windows written by the tests, file-order rows, the time split, and
every bad-input case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.core.errors import DataFormatError
from tsad.datasets.nab import files as nab
from tsad.datasets.nab.ingest import ingest_nab


def write_series(root: Path, key: str, n: int = 200, *, start: str = "2014-03-09 00:00:00", freq: str = "5min",
                 seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"timestamp": pd.date_range(start, periods=n, freq=freq).strftime("%Y-%m-%d %H:%M:%S"),
                          "value": np.round(rng.normal(50, 5, n), 3)})
    path = root / "data" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture
def nab_root(tmp_path) -> Path:
    root = tmp_path / "NAB"
    write_series(root, "realKnownCause/machine_temp.csv", 200, seed=1)
    write_series(root, "realTraffic/speed_1.csv", 100, freq="1h", seed=2)
    write_series(root, "artificialNoAnomaly/flat.csv", 120, seed=3)
    windows = {
        "realKnownCause/machine_temp.csv": [["2014-03-09 08:20:00.000000", "2014-03-09 09:00:00.000000"],
                                            ["2014-03-09 15:00:00.000000", "2014-03-09 15:00:00.000000"]],
        "realTraffic/speed_1.csv": [["2014-03-11 00:00:00.000000", "2014-03-11 05:00:00.000000"]],
        "artificialNoAnomaly/flat.csv": [],
    }
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows, indent=4))
    return root


def ingest(root: Path, **options):
    return ingest_nab(nab.series_source(root), nab.series_source(root), {"train_fraction": 0.15, **options})


def test_series_are_labelled_from_inclusive_windows_and_cut_in_time(nab_root):
    train, test = ingest(nab_root)
    assert list(train.index.get_level_values("entity").unique()) == [
        "artificialNoAnomaly/flat", "realKnownCause/machine_temp", "realTraffic/speed_1"]
    assert list(train.columns) == ["value", "label"] and train["value"].dtype == np.float32
    assert test["label"].dtype == np.int8 and train.index.names == ["entity", "step"]
    machine = pd.concat([train.loc["realKnownCause/machine_temp"], test.loc["realKnownCause/machine_temp"]])
    assert machine.index.tolist() == list(range(200))  # test steps continue the file rows
    assert len(train.loc["realKnownCause/machine_temp"]) == 30 and len(train.loc["realTraffic/speed_1"]) == 15
    # 08:20 .. 09:00 inclusive at 5 min: rows 100..108, and the one-point window at 15:00: row 180
    assert np.flatnonzero(machine["label"].to_numpy()).tolist() == [*range(100, 109), 180]
    speed = test.loc["realTraffic/speed_1", "label"]
    assert speed.sum() == 6 and speed.loc[48:53].all()  # 2014-03-11 00:00 .. 05:00 hourly
    assert train.loc["artificialNoAnomaly/flat", "label"].sum() == 0 and test.loc["artificialNoAnomaly/flat",
                                                                                  "label"].sum() == 0
    expected = pd.read_csv(nab_root / "data/realTraffic/speed_1.csv")["value"].to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(
        np.concatenate([train.loc["realTraffic/speed_1", "value"], test.loc["realTraffic/speed_1", "value"]]),
        expected)


def test_train_fraction_and_selection(nab_root):
    train, test = ingest(nab_root, train_fraction=0.5, entities=["real*/*"])
    assert list(train.index.get_level_values("entity").unique()) == ["realKnownCause/machine_temp",
                                                                     "realTraffic/speed_1"]
    assert len(train.loc["realTraffic/speed_1"]) == 50 and len(test.loc["realTraffic/speed_1"]) == 50
    with pytest.raises(ValueError, match="train_fraction must be in"):
        ingest(nab_root, train_fraction=1.0)
    with pytest.raises(DataFormatError, match="'realKnownCause/nyc_taxi', which matches no entity"):
        ingest(nab_root, entities=["realKnownCause/nyc_taxi"])


def test_repeated_or_unsorted_timestamps_keep_file_order(nab_root):
    """NAB's real files repeat 03:00:00 at clock changes and once go back in time: rows stay as they are."""
    path = nab_root / "data/realKnownCause/machine_temp.csv"
    frame = pd.read_csv(path)
    frame.loc[101, "timestamp"] = frame.loc[100, "timestamp"]
    frame.loc[150, "timestamp"] = frame.loc[104, "timestamp"]  # back in time, into the first window
    frame.to_csv(path, index=False)
    train, test = ingest(nab_root)
    labels = test.loc["realKnownCause/machine_temp", "label"]
    assert len(labels) == 170 and labels.index.tolist() == list(range(30, 200))
    assert labels.loc[101] == 1 and labels.loc[150] == 1 and labels.loc[149] == 0


def test_a_windowed_series_without_its_csv_is_missing(nab_root):
    (nab_root / "data/realTraffic/speed_1.csv").unlink()
    train, _ = ingest(nab_root)
    assert "realTraffic/speed_1" not in set(train.index.get_level_values("entity"))
    expected = r"realTraffic/speed_1 is named in ingestion.entities but .*/data/realTraffic/speed_1.csv is not there"
    with pytest.raises(DataFormatError, match=expected):
        ingest(nab_root, entities=["realTraffic/speed_1"])


@pytest.mark.parametrize("text, message", [
    ("time,value\n2014-01-01 00:00:00,1\n", r"header \['time', 'value'\], expected \['timestamp', 'value'\]"),
    ("timestamp,value,extra\n2014-01-01 00:00:00,1,2\n", r"header \['timestamp', 'value', 'extra'\]"),
    ("timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,1,3\n", "expected 2 columns timestamp,value"),
    ("timestamp,value\n2014-01-01 00:00:00,1\n01/01/2014 00:05,2\n",
     r"column 'timestamp', line 3: cannot parse '01/01/2014 00:05' as YYYY-MM-DD HH:MM:SS"),
    ("timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,n/a\n", r"column 'value', line 3: 'n/a' is not"),
    ("timestamp,value\n", "no data rows"),
    ("", "the file is empty"),
])
def test_malformed_series(nab_root, text, message):
    path = nab_root / "data/realTraffic/speed_1.csv"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=rf"{path}: {message}"):
        ingest(nab_root)


def test_windows_file_problems(nab_root):
    path = nab_root / "labels/combined_windows.json"
    windows = json.loads(path.read_text())
    del windows["realTraffic/speed_1.csv"]
    path.write_text(json.dumps(windows))
    with pytest.raises(DataFormatError, match=rf"{path}: no entry for realTraffic/speed_1.csv"):
        ingest(nab_root)
    windows["realTraffic/speed_1.csv"] = [["2014-03-11 05:00:00", "2014-03-11 00:00:00"]]
    path.write_text(json.dumps(windows))
    with pytest.raises(DataFormatError, match=rf"{path}: 'realTraffic/speed_1.csv': window .* ends before it starts"):
        ingest(nab_root)
    windows["realTraffic/speed_1.csv"] = [["yesterday", "2014-03-11 00:00:00"]]
    path.write_text(json.dumps(windows))
    with pytest.raises(DataFormatError, match=r"cannot parse window \['yesterday'"):
        ingest(nab_root)
    windows["realTraffic/speed_1.csv"] = [["2014-03-11 00:00:00"]]
    path.write_text(json.dumps(windows))
    with pytest.raises(DataFormatError, match="expected a list of \\[start, end\\] pairs"):
        ingest(nab_root)
    path.write_text("{not json")
    with pytest.raises(DataFormatError, match=rf"{path}: not valid JSON"):
        ingest(nab_root)
    path.write_text("[]")
    with pytest.raises(DataFormatError, match="expected an object"):
        ingest(nab_root)
    path.unlink()
    with pytest.raises(DataFormatError, match=rf"{path}: label file not found"):
        nab.series_source(nab_root)
    with pytest.raises(DataFormatError, match="no such folder"):
        nab.series_source(nab_root / "nowhere")
