"""KDD Cup 99 files as distributed (gzipped, no header): training on normal records, one-hot with training
categories, and every bad-input case."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.core.errors import DataFormatError
from tsad.core.frames import validate_typed_frame
from tsad.datasets.kddcup99.files import (
    KDD_FEATURES,
    NUMERIC,
    read_kddcup_file,
    record_classes,
)
from tsad.datasets.kddcup99.ingest import ingest_kddcup99


def records(classes: list[str], protocols: list[str], services: list[str], flags: list[str],
            seed: int = 0) -> list[str]:
    """Lines of a KDD file: 41 features (symbolic ones as given) and the class with its trailing dot."""
    rng = np.random.default_rng(seed)
    lines = []
    for i, label in enumerate(classes):
        numbers = [f"{v:.2f}" if j > 20 else str(int(v)) for j, v in enumerate(rng.integers(0, 500, len(NUMERIC)))]
        fields = [numbers[0], protocols[i % len(protocols)], services[i % len(services)], flags[i % len(flags)],
                  *numbers[1:]]
        lines.append(",".join([*fields, f"{label}."]))
    return lines


def write_kdd(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    train = write_kdd(tmp_path / "kddcup.data_10_percent.gz", records(
        ["normal", "smurf", "normal", "neptune", "normal", "normal", "back", "normal"],
        ["tcp", "icmp", "udp"], ["http", "ecr_i", "domain_u", "smtp"], ["SF", "S0"]))
    test = write_kdd(tmp_path / "corrected.gz", records(
        ["normal", "mailbomb", "smurf", "normal", "apache2", "normal"],
        ["tcp", "icmp"], ["http", "imap4", "ecr_i"], ["SF", "RSTO"], seed=1))
    return train, test


def test_training_keeps_normal_records_and_test_labels_attacks(files):
    train, test = ingest_kddcup99(read_kddcup_file(files[0]), read_kddcup_file(files[1]))
    # Steps are the records' positions in their files; training keeps the normal ones only.
    assert train.index.name == "step" and train.index.tolist() == [0, 2, 4, 5, 7]
    assert test.index.tolist() == list(range(6))
    assert (train["label"] == 0).all()
    assert test["label"].tolist() == [0, 1, 1, 0, 1, 0]
    validate_typed_frame(train, "kdd")
    validate_typed_frame(test, "kdd")
    assert test.attrs == {"source": str(files[1])}


def test_one_hot_uses_the_training_categories(files):
    train, test = ingest_kddcup99(read_kddcup_file(files[0]), read_kddcup_file(files[1]))
    # Normal training records (rows 0, 2, 4, 5, 7) have protocols tcp, udp, icmp, tcp, icmp; services http,
    # domain_u, http, ecr_i, smtp; flags SF, SF, SF, S0, S0.
    one_hot = [c for c in train.columns if "=" in c]
    assert one_hot == ["protocol_type=icmp", "protocol_type=tcp", "protocol_type=udp", "service=domain_u",
                       "service=ecr_i", "service=http", "service=smtp", "flag=S0", "flag=SF"]
    assert list(train.columns) == [*NUMERIC, *one_hot, "label"] and list(test.columns) == list(train.columns)
    assert all(train[c].dtype == np.float32 for c in train.columns if c != "label")
    np.testing.assert_array_equal(train[[c for c in one_hot if c.startswith("protocol")]].sum(axis=1), 1.0)
    # Test: imap4 (service) and RSTO (flag) were never seen in training: all-zero one-hot.
    services = test[[c for c in one_hot if c.startswith("service=")]]
    assert services.sum(axis=1).tolist() == [1, 0, 1, 1, 0, 1]
    flags = test[[c for c in one_hot if c.startswith("flag=")]]
    assert flags.sum(axis=1).tolist() == [1, 0, 1, 0, 1, 0]


def test_numeric_values_round_trip(files):
    train, _ = ingest_kddcup99(read_kddcup_file(files[0]), read_kddcup_file(files[1]))
    original = pd.read_csv(files[0], header=None, names=[*KDD_FEATURES, "class"])
    np.testing.assert_allclose(train[list(NUMERIC)].to_numpy(), original.loc[[0, 2, 4, 5, 7], list(NUMERIC)].to_numpy(),
                               rtol=1e-6)


def test_plain_text_file_and_a_header_line(tmp_path):
    lines = records(["normal", "normal", "smurf"], ["tcp"], ["http"], ["SF"])
    plain = read_kddcup_file(write_kdd(tmp_path / "kdd.csv", lines))
    headed = read_kddcup_file(write_kdd(tmp_path / "kdd_header.csv", [",".join([*KDD_FEATURES, "label"]), *lines]))
    pd.testing.assert_frame_equal(plain.reset_index(drop=True), headed.reset_index(drop=True))
    assert headed.attrs["first_line"] == 2


def test_classes_without_the_trailing_dot_are_accepted(tmp_path):
    lines = [line.rstrip(".") for line in records(["normal", "smurf"], ["tcp"], ["http"], ["SF"])]
    frame = read_kddcup_file(write_kdd(tmp_path / "kdd.csv", lines))
    assert record_classes(frame).tolist() == ["normal", "smurf"]


# ---------------------------------------------------------------------------------------------- bad input


def test_wrong_field_count_on_the_first_line(tmp_path):
    path = write_kdd(tmp_path / "kdd.csv", ["1,2,3", *records(["normal"], ["tcp"], ["http"], ["SF"])])
    with pytest.raises(DataFormatError, match=r"line 1 has 3 fields, expected 42 .*is this a KDD Cup 99 file"):
        read_kddcup_file(path)


def test_wrong_field_count_later_names_the_line(tmp_path):
    lines = records(["normal"] * 6, ["tcp"], ["http"], ["SF"])
    lines[4] = lines[4] + ",extra"
    with pytest.raises(DataFormatError, match=r"kdd.gz: line 5 has 43 fields, expected 42"):
        read_kddcup_file(write_kdd(tmp_path / "kdd.gz", lines))


def test_non_numeric_feature_names_column_and_line(tmp_path):
    lines = records(["normal"] * 6, ["tcp"], ["http"], ["SF"])
    fields = lines[3].split(",")
    fields[4] = "lots"  # src_bytes
    lines[3] = ",".join(fields)
    with pytest.raises(DataFormatError, match=r"column 'src_bytes', line 4: 'lots' is not a number"):
        read_kddcup_file(write_kdd(tmp_path / "kdd.csv", lines))


def test_unknown_class_names_the_line(tmp_path, files):
    lines = records(["normal", "normal", "smurf", "normal"], ["tcp"], ["http"], ["SF"])
    lines[2] = lines[2].rsplit(",", 1)[0] + ",hacker."
    frame = read_kddcup_file(write_kdd(tmp_path / "kdd.csv", lines))
    with pytest.raises(DataFormatError, match=r"kdd.csv: column 'class', line 3: unknown class 'hacker.'"):
        ingest_kddcup99(frame, read_kddcup_file(files[1]))


def test_training_file_without_normal_records(tmp_path, files):
    frame = read_kddcup_file(write_kdd(tmp_path / "kdd.csv", records(["smurf", "back"], ["tcp"], ["http"], ["SF"])))
    with pytest.raises(DataFormatError, match="no 'normal.' records to train on"):
        ingest_kddcup99(frame, read_kddcup_file(files[1]))


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="corrected.gz: file not found"):
        read_kddcup_file(tmp_path / "corrected.gz")
