"""CICIDS2017 CICFlowMeter day files (both layouts) with their quirks, the inf/NaN policy, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.core.errors import DataFormatError
from tsad.core.frames import validate_typed_frame
from tsad.datasets.cicids2017.files import (
    CICIDS_FEATURES,
    IDENTIFIER_COLUMNS,
    flow_labels,
    parse_cicids_frame,
    read_cicids_csv,
)
from tsad.datasets.cicids2017.ingest import ingest_cicids

# Names written without the leading space in the real header (the rest have one).
_UNSPACED = {"Total Length of Fwd Packets", "Bwd Packet Length Max", "Flow Bytes/s", "Fwd IAT Total",
             "Bwd IAT Total", "Fwd PSH Flags", "Fwd Packets/s", "FIN Flag Count", "Fwd Avg Bytes/Bulk",
             "Bwd Avg Bulk Rate", "Subflow Fwd Packets", "Init_Win_bytes_forward", "Active Mean", "Idle Mean"}


def header(identifiers: bool = False) -> list[str]:
    """The distributed header: leading spaces, Fwd Header Length twice, Label last."""
    names = list(CICIDS_FEATURES)
    names.insert(names.index("Avg Bwd Segment Size") + 1, "Fwd Header Length")
    if identifiers:
        names = ["Flow ID", "Source IP", "Source Port", "Destination IP", "Destination Port", "Protocol",
                 "Timestamp", *names[1:]]
    return [n if n in _UNSPACED else f" {n}" for n in names] + [" Label"]


def write_day(path: Path, labels: list[str], seed: int = 0, identifiers: bool = False,
              trailing_blank_rows: int = 0) -> tuple[Path, np.ndarray]:
    """A day file in cp1252/latin-1 bytes like the release; returns the path and the 77 feature values."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    values = rng.integers(-1, 10_000, size=(n, len(CICIDS_FEATURES))).astype(float)
    values[:, CICIDS_FEATURES.index("Flow Packets/s")] = rng.uniform(0, 1e6, n).round(3)
    names = header(identifiers)
    rows = []
    for i in range(n):
        cells = [f"{v:.10g}" for v in values[i]]
        copy = cells[CICIDS_FEATURES.index("Fwd Header Length")]
        cells.insert(CICIDS_FEATURES.index("Avg Bwd Segment Size") + 1, copy)
        if identifiers:
            cells = [f"10.0.0.{i}-80-{i}", f"10.0.0.{i}", str(40000 + i), "192.168.10.5", cells[0], "6",
                     f"3/7/2017 8:{i % 60:02d}", *cells[1:]]
        rows.append(",".join([*cells, labels[i]]))
    text = "\r\n".join([",".join(names), *rows, *([","*(len(names) - 1)] * trailing_blank_rows)]) + "\r\n"
    path.write_bytes(text.encode("latin-1"))
    return path, values


def test_machine_learning_cve_layout(tmp_path):
    labels = ["BENIGN", "DDoS", "BENIGN", "Web Attack \x96 Brute Force", "PortScan", "BENIGN"]
    path, values = write_day(tmp_path / "Friday-WorkingHours-Afternoon-DDos.pcap_ISCX.csv", labels)
    raw = read_cicids_csv(path)
    assert list(raw.columns) == [*CICIDS_FEATURES, "Label"] and len(CICIDS_FEATURES) == 77
    assert flow_labels(raw).tolist() == ["BENIGN", "DDoS", "BENIGN", "Web Attack - Brute Force", "PortScan", "BENIGN"]
    typed, _ = parse_cicids_frame(raw)
    np.testing.assert_allclose(typed.to_numpy(), values.astype(np.float32))
    assert typed.index.name == "step" and typed.index.tolist() == list(range(6))


def test_generated_labelled_flows_layout_gives_the_same_features(tmp_path):
    labels = ["BENIGN", "Bot", "BENIGN"]
    path, values = write_day(tmp_path / "Friday.csv", labels, identifiers=True)
    raw = read_cicids_csv(path)
    assert list(raw.columns) == [*CICIDS_FEATURES, "Label"]
    assert not set(IDENTIFIER_COLUMNS) & set(raw.columns)
    np.testing.assert_allclose(parse_cicids_frame(raw)[0].to_numpy(), values.astype(np.float32))


def test_ingest_trains_on_benign_monday_and_labels_the_test_day(tmp_path):
    monday, _ = write_day(tmp_path / "Monday-WorkingHours.pcap_ISCX.csv", ["BENIGN"] * 8)
    friday, _ = write_day(tmp_path / "Friday.csv", ["BENIGN", "DDoS", "DDoS", "BENIGN", "BENIGN"], seed=1)
    train, test = ingest_cicids(read_cicids_csv(monday), read_cicids_csv(friday))
    assert list(train.columns) == [*CICIDS_FEATURES, "label"] == list(test.columns)
    assert (train["label"] == 0).all() and test["label"].tolist() == [0, 1, 1, 0, 0]
    validate_typed_frame(train, "cicids")
    validate_typed_frame(test, "cicids")


def test_attack_flows_in_the_training_day_are_left_out(tmp_path):
    day, _ = write_day(tmp_path / "Tuesday.csv", ["BENIGN", "FTP-Patator", "BENIGN", "SSH-Patator"])
    other, _ = write_day(tmp_path / "Friday.csv", ["BENIGN", "DDoS"], seed=1)
    train, _ = ingest_cicids(read_cicids_csv(day), read_cicids_csv(other))
    assert train.index.tolist() == [0, 2]


def test_infinite_values_become_nan_and_nan_stays_for_the_cleaning_policy(tmp_path):
    path, _ = write_day(tmp_path / "Monday.csv", ["BENIGN"] * 5)
    lines = path.read_bytes().decode("latin-1").split("\r\n")
    fields = lines[2].split(",")
    fields[CICIDS_FEATURES.index("Flow Bytes/s")] = "Infinity"
    fields[CICIDS_FEATURES.index("Flow Packets/s")] = "Infinity"
    lines[2] = ",".join(fields)
    fields = lines[4].split(",")
    fields[CICIDS_FEATURES.index("Flow Bytes/s")] = "NaN"
    fields[CICIDS_FEATURES.index("Flow Duration")] = "-inf"
    lines[4] = ",".join(fields)
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    typed, _ = parse_cicids_frame(read_cicids_csv(path))
    assert not np.isinf(typed.to_numpy()).any()
    nan = typed.isna()
    assert nan.sum().sum() == 4
    assert nan.loc[1, "Flow Bytes/s"] and nan.loc[1, "Flow Packets/s"]
    assert nan.loc[3, "Flow Bytes/s"] and nan.loc[3, "Flow Duration"]


def test_trailing_empty_rows_are_ignored(tmp_path):
    path, _ = write_day(tmp_path / "Thursday.csv", ["BENIGN", "Infiltration", "BENIGN"], trailing_blank_rows=4)
    typed, labels = parse_cicids_frame(read_cicids_csv(path))
    assert len(typed) == 3 and labels.tolist() == ["BENIGN", "Infiltration", "BENIGN"]


# ---------------------------------------------------------------------------------------------- bad input


def test_unknown_label_names_the_line(tmp_path):
    path, _ = write_day(tmp_path / "Wednesday.csv", ["BENIGN", "BENIGN", "Alien probe", "BENIGN"])
    with pytest.raises(DataFormatError, match=r"Wednesday.csv: column 'Label', line 4: unknown label 'Alien probe'"):
        flow_labels(read_cicids_csv(path))


def test_empty_label_in_the_middle_is_an_error(tmp_path):
    path, _ = write_day(tmp_path / "Wednesday.csv", ["BENIGN", "", "BENIGN"])
    with pytest.raises(DataFormatError, match=r"line 3: unknown label ''"):
        parse_cicids_frame(read_cicids_csv(path))


def test_wrong_column_count_names_what_is_missing(tmp_path):
    path, _ = write_day(tmp_path / "Monday.csv", ["BENIGN"] * 3)
    frame = pd.read_csv(path, encoding="latin-1").drop(columns=[" Flow IAT Std"])
    frame.to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"Monday.csv: the header has 78 columns, expected 79 .*missing "
                                              r"\['Flow IAT Std'\]"):
        read_cicids_csv(path)


def test_not_a_cicflowmeter_file(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,Label\n1,2,BENIGN\n")
    with pytest.raises(DataFormatError, match=r"unknown \['a', 'b'\]"):
        read_cicids_csv(path)


def test_short_row_and_non_numeric_value_name_the_line(tmp_path):
    path, _ = write_day(tmp_path / "Monday.csv", ["BENIGN"] * 6)
    lines = path.read_bytes().decode("latin-1").split("\r\n")
    lines[3] = lines[3].split(",", 1)[1]
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"Monday.csv: line 4 has 78 fields, expected 79"):
        read_cicids_csv(path)
    path, _ = write_day(tmp_path / "Tuesday.csv", ["BENIGN"] * 6)
    lines = path.read_bytes().decode("latin-1").split("\r\n")
    fields = lines[5].split(",")
    fields[CICIDS_FEATURES.index("Flow IAT Max")] = "12ms"
    lines[5] = ",".join(fields)
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"Tuesday.csv: column 'Flow IAT Max', line 6: '12ms' is not a number"):
        read_cicids_csv(path)


def test_a_test_day_only_or_no_benign_training_flows(tmp_path):
    day, _ = write_day(tmp_path / "Friday.csv", ["DDoS", "DDoS"])
    with pytest.raises(DataFormatError, match="no BENIGN flows to train on"):
        ingest_cicids(read_cicids_csv(day), read_cicids_csv(day))
