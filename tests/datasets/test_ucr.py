"""The UCR anomaly archive as distributed: tiny series written by the tests, the 1-based inclusive name
convention, both file layouts, and every bad-input case."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tsad.core.errors import DataFormatError
from tsad.datasets.ucr import files as ucr
from tsad.datasets.ucr.ingest import ingest_ucr


def write_series(root: Path, name: str, values: np.ndarray, layout: str = "lines", gz: bool = True) -> Path:
    """``lines``: one value per CRLF line (most files); ``one_line``: space-separated on one line."""
    root.mkdir(parents=True, exist_ok=True)
    text = (" ".join(f"{v:.6f}" for v in values) if layout == "one_line"
            else "".join(f"  {v:.6f}\r\n" for v in values))
    path = root / (f"{name}.gz" if gz else name)
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def spiked(n: int, spike: int, seed: int = 0) -> np.ndarray:
    values = np.sin(np.arange(n) / 5) + 0.01 * np.random.default_rng(seed).normal(size=n)
    values[spike] += 10
    return values


@pytest.fixture
def ucr_root(tmp_path) -> Path:
    root = tmp_path / "UCR_Anomaly_FullData"
    # 1-based inclusive: _151_152 is 0-based rows 150 and 151; the spike sits at 0-based row 150
    write_series(root, "001_UCR_Anomaly_Spike1_100_151_152.txt", spiked(300, 150))
    write_series(root, "010_UCR_Anomaly_Spike2_80_200_200.txt", spiked(250, 199), layout="one_line", gz=False)
    write_series(root, "002_UCR_Anomaly_Other_50_90_99.txt", spiked(120, 89), layout="one_line")
    return root


def ingest(root: Path, **options):
    return ingest_ucr(ucr.archive_source(root, "train"), ucr.archive_source(root, "test"), options)


def test_names_give_training_prefix_and_one_based_inclusive_anomaly(ucr_root):
    train, test = ingest(ucr_root)
    assert list(train.index.get_level_values("entity").unique()) == ["001_Spike1", "002_Other", "010_Spike2"]
    assert list(train.columns) == ["value", "label"] and train["value"].dtype == np.float32
    assert test["label"].dtype == np.int8 and test.index.names == ["entity", "step"]
    first = test.loc["001_Spike1"]
    assert len(train.loc["001_Spike1"]) == 100 and first.index[0] == 100 and first.index[-1] == 299
    assert np.flatnonzero(first["label"].to_numpy() == 1).tolist() == [50, 51]  # steps 150 and 151
    assert first["value"].idxmax() == 150 and first.loc[150, "label"] == 1  # the spike is labelled
    assert test.loc["010_Spike2", "label"].sum() == 1 and test.loc[("010_Spike2", 199), "label"] == 1
    assert test.loc["002_Other", "label"].sum() == 10 and test.loc["002_Other", "label"].loc[89:98].all()
    assert train["label"].sum() == 0
    np.testing.assert_allclose(test.loc["010_Spike2", "value"].to_numpy(), spiked(250, 199)[80:], atol=1e-6)


def test_file_name_parsing():
    parsed = ucr.parse_file_name("135_UCR_Anomaly_InternalBleeding16_1200_4187_4199.txt.gz")
    assert (parsed.entity, parsed.train_end, parsed.anomaly_start, parsed.anomaly_end) == (
        "135_InternalBleeding16", 1200, 4186, 4199)
    assert ucr.parse_file_name("004_UCR_Anomaly_DISTORTED_BIDMC1_2500_5400_5600.txt").entity == "004_DISTORTED_BIDMC1"


@pytest.mark.parametrize("name, message", [
    ("001_UCR_Anomaly_Spike_100_151.txt", "cannot parse the file name; expected <NNN>_UCR_Anomaly_"),
    ("001_UCR_Anomaly_Spike_a_151_152.txt", "cannot parse the file name"),
    ("Spike_100_151_152.txt", "cannot parse the file name"),
    ("001_UCR_Anomaly_Spike_200_151_152.txt", "training prefix 1..200 and anomaly 151..152"),
    ("001_UCR_Anomaly_Spike_100_152_151.txt", "expected 0 < trainEnd < start <= end"),
    ("001_UCR_Anomaly_Spike_0_151_152.txt", "expected 0 < trainEnd < start <= end"),
])
def test_unparseable_or_inconsistent_names(tmp_path, name, message):
    write_series(tmp_path / "ucr", name, spiked(300, 150), gz=False)
    with pytest.raises(DataFormatError, match=message):
        ucr.archive_source(tmp_path / "ucr", "train")


def test_other_files_are_ignored_and_duplicates_rejected(ucr_root):
    (ucr_root / "README.md").write_text("not a series")
    assert list(ucr.archive_source(ucr_root, "test").readers) == ["001_Spike1", "002_Other", "010_Spike2"]
    write_series(ucr_root, "001_UCR_Anomaly_Spike1_100_151_152.txt", spiked(300, 150), gz=False)
    with pytest.raises(DataFormatError, match="are the same series 001_Spike1"):
        ucr.archive_source(ucr_root, "test")


def test_bad_content(ucr_root):
    path = ucr_root / "002_UCR_Anomaly_Other_50_90_99.txt.gz"
    path.write_bytes(gzip.compress(b"1.0\r\n2.0\r\n3.0 x4\r\n"))
    with pytest.raises(DataFormatError, match=rf"{path}: line 3: 'x4' is not a number"):
        ingest(ucr_root)
    path.write_bytes(gzip.compress(b"1.0\r\n2.0,3.0\r\n"))
    with pytest.raises(DataFormatError, match=rf"{path}: line 2: '2.0,3.0' is not a number"):
        ingest(ucr_root)
    path.write_bytes(gzip.compress(b"\r\n"))
    with pytest.raises(DataFormatError, match=rf"{path}: the file is empty"):
        ingest(ucr_root)
    path.write_bytes(gzip.compress(b"1.0 inf 2.0"))
    with pytest.raises(DataFormatError, match=rf"{path}: value #2 is inf"):
        ingest(ucr_root)
    write_series(ucr_root, "002_UCR_Anomaly_Other_50_90_99.txt", spiked(95, 89))  # anomaly runs past the end
    with pytest.raises(DataFormatError, match=r"puts the anomaly at 90..99 \(1-based\), but the file has 95 values"):
        ingest(ucr_root)


def test_selection_and_missing_folder(ucr_root, tmp_path):
    train, _ = ingest(ucr_root, entities=["00*"], exclude=["002_Other"])
    assert list(train.index.get_level_values("entity").unique()) == ["001_Spike1"]
    with pytest.raises(DataFormatError, match="'003_Nothing', which matches no entity"):
        ingest(ucr_root, entities=["003_Nothing"])
    with pytest.raises(DataFormatError, match="no such folder"):
        ucr.archive_source(tmp_path / "nowhere", "train")
