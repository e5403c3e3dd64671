"""MSL and SMAP folders as distributed (telemanom): tiny channels written by the tests, the label quirks
(a channel listed twice, a channel without a row), and every bad-input case."""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from tsad.core.errors import DataFormatError
from tsad.datasets.telemanom import files as telemanom
from tsad.datasets.telemanom.ingest import ingest_channels

HEADER = "chan_id,spacecraft,anomaly_sequences,class,num_values"


@contextmanager
def captured_logs(name: str = "tsad") -> Iterator[list[str]]:
    """Messages logged under ``name`` (works with ``-p no:logging``, where pytest's caplog is absent)."""
    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def save_npy(path: Path, values: np.ndarray, gz: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, values)
    if gz:
        Path(f"{path}.gz").write_bytes(gzip.compress(buffer.getvalue()))
    else:
        path.write_bytes(buffer.getvalue())


def channel(rng: np.random.Generator, rows: int, dims: int) -> np.ndarray:
    """Telemetry in [-1, 1] and one-hot commands, float64 as in the release."""
    values = np.zeros((rows, dims))
    values[:, 0] = np.sin(np.arange(rows) / 7) * 0.9
    values[np.arange(rows), rng.integers(1, dims, rows)] = 1.0
    return values


@pytest.fixture
def telemanom_root(tmp_path) -> Path:
    """Two MSL channels, two SMAP channels (P-2 listed twice), and T-10 with files but no row."""
    root = tmp_path / "MSL_SMAP"
    rng = np.random.default_rng(0)
    shapes = {"C-1": (60, 80, 55), "M-10": (50, 70, 55), "M-2": (40, 60, 55), "P-2": (70, 90, 25),
              "A-1": (30, 50, 25), "T-10": (40, 40, 55)}
    for i, (name, (n_train, n_test, dims)) in enumerate(shapes.items()):
        save_npy(root / "train" / f"{name}.npy", channel(rng, n_train, dims), gz=i % 2 == 0)
        save_npy(root / "test" / f"{name}.npy", channel(rng, n_test, dims), gz=i % 2 == 1)
    (root / "labeled_anomalies.csv").write_text("\n".join([
        HEADER,
        'C-1,MSL,"[[10, 19], [70, 79]]","[point, contextual]",80',
        'M-10,MSL,"[[0, 0]]",[point],70',
        'M-2,MSL,[],[],60',
        'P-2,SMAP,"[[20, 29]]",[point],90',
        'A-1,SMAP,"[[5, 9]]",[point],50',
        'P-2,SMAP,"[[25, 39]]",[point],90',
    ]) + "\n")
    return root


def ingest(root: Path, spacecraft: str = "MSL", **options):
    return ingest_channels(telemanom.channel_source(root, "train", spacecraft),
                           telemanom.channel_source(root, "test", spacecraft), options)


def test_msl_channels_are_typed_and_labelled_inclusively(telemanom_root):
    with captured_logs() as logs:
        train, test = ingest(telemanom_root)
    assert list(train.index.get_level_values("entity").unique()) == ["C-1", "M-2", "M-10"]  # natural order
    assert list(train.columns) == ["value", *(f"cmd_{i:02d}" for i in range(1, 55))] and "label" not in train
    assert list(test.columns) == [*train.columns, "label"] and test["label"].dtype == np.int8
    assert all(train[c].dtype == np.float32 for c in train.columns)
    assert train.index.names == ["entity", "step"] and len(test.loc["C-1"]) == 80
    labels = test.loc["C-1", "label"].to_numpy()
    assert labels[10:20].all() and labels[70:80].all() and labels.sum() == 20  # [start, end] inclusive
    assert test.loc["M-10", "label"].to_numpy().tolist() == [1] + [0] * 69
    assert test.loc["M-2", "label"].sum() == 0
    np.testing.assert_array_equal(train.loc["M-2"].to_numpy(),
                                  telemanom.load_npy(telemanom_root / "train" / "M-2.npy.gz").astype(np.float32))
    assert any("T-10" in m and "no row" in m for m in logs)


def test_smap_keeps_a_channel_listed_twice_once_with_the_union_of_its_sequences(telemanom_root):
    with captured_logs() as logs:
        _, test = ingest(telemanom_root, "SMAP")
    assert list(test.index.get_level_values("entity").unique()) == ["A-1", "P-2"]
    assert len(test.columns) == 26
    labels = test.loc["P-2", "label"].to_numpy()
    assert labels[20:40].all() and labels.sum() == 20
    assert any("P-2 is listed on lines 5 and 7" in m and "union" in m for m in logs)
    _, test = ingest(telemanom_root, "SMAP", exclude=["P-2"])
    assert list(test.index.get_level_values("entity").unique()) == ["A-1"]


def test_channel_selection(telemanom_root):
    train, _ = ingest(telemanom_root, entities=["M-*"])
    assert list(train.index.get_level_values("entity").unique()) == ["M-2", "M-10"]
    with pytest.raises(DataFormatError, match="'T-10', which matches no entity"):  # unlabelled: not MSL
        ingest(telemanom_root, entities=["T-10"])
    with pytest.raises(DataFormatError, match="'A-1', which matches no entity"):  # a SMAP channel
        ingest(telemanom_root, entities=["A-1"])


def test_a_labelled_channel_without_files(telemanom_root):
    (telemanom_root / "test" / "M-2.npy").unlink()
    train, _ = ingest(telemanom_root)
    assert "M-2" not in set(train.index.get_level_values("entity"))
    expected = r"M-2 is named in ingestion.entities but .*test/M-2\.npy \(or \.npy\.gz\)"
    with pytest.raises(DataFormatError, match=expected):
        ingest(telemanom_root, entities=["M-2"])


def test_wrong_column_count_or_length_or_content(telemanom_root):
    path = telemanom_root / "test" / "M-10.npy.gz"
    save_npy(telemanom_root / "test" / "M-10.npy", np.zeros((70, 25)))
    with pytest.raises(DataFormatError, match=rf"{path}: array of shape \(70, 25\), expected \(rows, 55\) for MSL"):
        ingest(telemanom_root)
    save_npy(telemanom_root / "test" / "M-10.npy", np.zeros(70))
    with pytest.raises(DataFormatError, match=r"array of shape \(70,\)"):
        ingest(telemanom_root)
    save_npy(telemanom_root / "test" / "M-10.npy", np.zeros((71, 55)))
    with pytest.raises(DataFormatError, match=rf"labeled_anomalies.csv: line 3 gives num_values 70, but {path} has 71"):
        ingest(telemanom_root)
    save_npy(telemanom_root / "test" / "M-10.npy", np.array([["a"] * 55] * 70))
    with pytest.raises(DataFormatError, match=r"dtype <U1, expected numbers"):
        ingest(telemanom_root)
    path.write_bytes(gzip.compress(b"not an array"))
    with pytest.raises(DataFormatError, match=rf"{path}: not a readable .npy array"):
        ingest(telemanom_root)
    save_npy(telemanom_root / "test" / "M-10.npy", np.array([{"pickled": 1}] * 70, dtype=object))
    with pytest.raises(DataFormatError, match="not a readable .npy array"):  # never unpickled
        ingest(telemanom_root)


@pytest.mark.parametrize("row, message", [
    ('M-10,MSL,"[[0, 80]]",[point],70', r"line 3: sequence \[0, 80\] is outside the 70 test rows of M-10"),
    ('M-10,MSL,"[[5, 2]]",[point],70', r"line 3: sequence \[5, 2\] is outside"),
    ('M-10,MSL,"[[0, x]]",[point],70', r"line 3: cannot parse anomaly_sequences '\[\[0, x\]\]'"),
    ('M-10,MSL,"[[0, 1, 2]]",[point],70', r"line 3: cannot parse anomaly_sequences"),
    ('M-10,MSL,"[[0, 0]]",[point],seventy', r"line 3: num_values 'seventy' is not an integer"),
    ('M-10,ISS,"[[0, 0]]",[point],70', r"line 3: unknown spacecraft 'ISS'"),
    ('M-10,MSL', r"line 3: cannot parse anomaly_sequences ''"),
    ('C-1,SMAP,"[[0, 0]]",[point],80', r"line 3: C-1 is listed again with another spacecraft or length than on line 2"),
])
def test_malformed_label_rows(telemanom_root, row, message):
    path = telemanom_root / "labeled_anomalies.csv"
    lines = path.read_text().splitlines()
    lines[2] = row
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"{path}: {message}"):
        ingest(telemanom_root)


def test_missing_label_file_column_or_folder(telemanom_root, tmp_path):
    path = telemanom_root / "labeled_anomalies.csv"
    path.write_text(path.read_text().replace("num_values", "length"))
    with pytest.raises(DataFormatError, match=rf"{path}: missing column\(s\) \['num_values'\]"):
        ingest(telemanom_root)
    path.write_text(HEADER + "\n")
    with pytest.raises(DataFormatError, match=rf"{path}: no rows"):
        ingest(telemanom_root)
    path.unlink()
    with pytest.raises(DataFormatError, match=rf"{path}: label file not found"):
        ingest(telemanom_root)
    with pytest.raises(DataFormatError, match="no such folder"):
        telemanom.channel_source(tmp_path / "nowhere", "test", "MSL")
    with pytest.raises(DataFormatError, match="unknown spacecraft 'ISS'"):
        telemanom.channel_source(telemanom_root, "test", "ISS")
