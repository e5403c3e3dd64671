"""WADI files as distributed (A1 and A2 layouts), labels from the attack table, and every bad-input case."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.core.errors import DataFormatError
from tsad.core.frames import validate_typed_frame
from tsad.datasets.wadi.files import (
    A2_LABEL_COLUMN,
    OPC_PREFIX,
    WADI_A1_ATTACK_TABLE,
    WADI_A1_ATTACKS,
    WADI_CHANNELS,
    WADI_EMPTY_TAGS,
    WADI_TAGS,
    attack_labels,
    parse_wadi_frame,
    read_attack_table,
    read_wadi_csv,
    write_wadi_csv,
)
from tsad.datasets.wadi.ingest import ingest_wadi

PREAMBLE = ["historian export", "server", "start", "interval"]


def wadi_like(n: int = 60, start: str = "2017-10-09 11:58:50", seed: int = 0, step: str = "7s") -> pd.DataFrame:
    """A small typed WADI frame crossing noon (AM/PM), with the empty tags and a few NaN cells."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.uniform(0, 100, size=(n, len(WADI_TAGS))).round(4).astype(np.float32),
                         columns=list(WADI_TAGS), index=pd.date_range(start, periods=n, freq=step, name="timestamp"))
    for tag in WADI_EMPTY_TAGS:
        frame[tag] = np.nan
    frame.iloc[5, 3] = np.nan
    frame.iloc[6:9, 40] = np.nan
    labels = np.zeros(n, dtype=np.int8)
    labels[10:15] = 1
    frame["label"] = labels
    return frame


def write(frame: pd.DataFrame, path: Path, layout: str) -> Path:
    preamble = {"a1_normal": PREAMBLE, "a2_attack": ["WADI.A2 attack data"]}.get(layout, [])
    write_wadi_csv(frame, path, layout, preamble)
    return path


def check_values(typed: pd.DataFrame, original: pd.DataFrame) -> None:
    assert list(typed.columns) == [*WADI_CHANNELS, "label"] and len(WADI_CHANNELS) == 123
    assert typed.index.name == "timestamp" and typed.index.equals(original.index)
    assert all(typed[c].dtype == np.float32 for c in WADI_CHANNELS) and typed["label"].dtype == np.int8
    np.testing.assert_array_equal(typed[list(WADI_CHANNELS)].to_numpy(), original[list(WADI_CHANNELS)].to_numpy())
    validate_typed_frame(typed, "wadi")


def test_tag_list_has_the_documented_shape():
    assert len(WADI_TAGS) == 127 and len(set(WADI_TAGS)) == 127
    assert WADI_TAGS[:3] == ("1_AIT_001_PV", "1_AIT_002_PV", "1_AIT_003_PV")
    assert WADI_TAGS[-3:] == ("LEAK_DIFF_PRESSURE", "PLANT_START_STOP_LOG", "TOTAL_CONS_REQUIRED_FLOW")
    assert WADI_TAGS.index("2_FIC_101_CO") < WADI_TAGS.index("2_FIC_101_PV") < WADI_TAGS.index("2_FIC_101_SP")
    assert WADI_TAGS.index("2_MV_006_STATUS") + 1 == WADI_TAGS.index("2_MV_009_STATUS")
    assert set(WADI_EMPTY_TAGS) <= set(WADI_TAGS)


@pytest.mark.parametrize("layout", ["a1_normal", "a1_attack", "a2_normal"])
def test_unlabelled_layouts_round_trip_as_normal(tmp_path, layout):
    original = wadi_like()
    raw = read_wadi_csv(write(original, tmp_path / "WADI.csv", layout))
    typed = parse_wadi_frame(raw)
    check_values(typed, original)
    assert (typed["label"] == 0).all()


def test_a1_layout_has_the_preamble_opc_paths_and_time_format(tmp_path):
    path = write(wadi_like(start="2017-09-25 18:00:00", step="1s"), tmp_path / "WADI_14days.csv", "a1_normal")
    lines = path.read_text().splitlines()
    assert lines[:4] == PREAMBLE
    header = lines[4].split(",")
    assert header[:3] == ["Row", "Date", "Time"] and header[3] == OPC_PREFIX + "1_AIT_001_PV"
    assert header[3] == "\\\\WIN-25J4RO10SBF\\LOG_DATA\\SUTD_WADI\\LOG_DATA\\1_AIT_001_PV"
    assert lines[5].startswith("1,9/25/2017,6:00:00.000 PM,")
    assert read_wadi_csv(path).attrs["first_line"] == 6


def test_a2_attack_file_labels_minus_one_as_attack(tmp_path):
    original = wadi_like()
    path = write(original, tmp_path / "WADI_attackdataLABLE.csv", "a2_attack")
    lines = path.read_text().splitlines()
    assert lines[1].startswith("Row ,Date ,Time,1_AIT_001_PV")
    assert lines[1].endswith(f'"{A2_LABEL_COLUMN}"')
    typed = parse_wadi_frame(read_wadi_csv(path))
    check_values(typed, original)
    np.testing.assert_array_equal(typed["label"].to_numpy(), original["label"].to_numpy())


class Records(logging.Handler):
    """Collects log messages (the suite runs with ``-p no:logging``, so without pytest's caplog)."""

    def __init__(self, logger: str):
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self._logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> Records:
        self._level = self._logger.level
        self._logger.addHandler(self)
        self._logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


def test_the_empty_tags_are_dropped_with_a_log_line(tmp_path):
    with Records("tsad.datasets.wadi.files") as logs:
        typed = parse_wadi_frame(read_wadi_csv(write(wadi_like(), tmp_path / "w.csv", "a1_attack")))
    assert not set(WADI_EMPTY_TAGS) & set(typed.columns)
    assert any("dropping the 4 WADI columns" in m for m in logs.messages)


def test_nan_gaps_stay_nan_for_the_cleaning_policy(tmp_path):
    original = wadi_like()
    typed = parse_wadi_frame(read_wadi_csv(write(original, tmp_path / "w.csv", "a1_attack")))
    assert np.isnan(typed.iloc[5][WADI_TAGS[3]]) and typed.iloc[6:9][WADI_TAGS[40]].isna().all()
    assert typed.isna().sum().sum() == 4


def test_gzipped_file(tmp_path):
    original = wadi_like()
    typed = parse_wadi_frame(read_wadi_csv(write(original, tmp_path / "WADI_14days.csv.gz", "a1_normal")))
    check_values(typed, original)


def test_labels_from_an_attack_table_are_inclusive(tmp_path):
    original = wadi_like(start="2017-10-09 18:00:00", step="1s", n=120)
    path = write(original, tmp_path / "WADI_attackdata.csv", "a1_attack")
    table = tmp_path / "attacks.csv"
    table.write_text("number,start,end\n1,2017-10-09 18:00:10,2017-10-09 18:00:14\n"
                     "2,10/9/2017 18:01:00,10/9/2017 18:01:00\n")
    raw = read_wadi_csv(path, table)
    assert raw.attrs["attacks"]["source"] == str(table)
    typed = parse_wadi_frame(raw, raw.attrs["attacks"])
    assert np.flatnonzero(typed["label"].to_numpy()).tolist() == [10, 11, 12, 13, 14, 60]


def test_ingest_labels_the_a1_attack_file_from_the_built_in_table(tmp_path):
    assert len(WADI_A1_ATTACKS) == 14  # 15 attacks: attacks 3 and 4 share one interval
    train = wadi_like(start="2017-10-09 17:00:00", step="1s")
    test = wadi_like(start="2017-10-09 19:24:00", step="1s", n=120)
    train_raw = read_wadi_csv(write(train, tmp_path / "WADI_14days.csv", "a1_normal"))
    test_raw = read_wadi_csv(write(test, tmp_path / "WADI_attackdata.csv", "a1_attack"))
    raw_train, raw_test = ingest_wadi(train_raw, test_raw)
    assert (raw_train["label"] == 0).all()
    # Attack 1 starts at 19:25:00, 60 s into the test file.
    assert np.flatnonzero(raw_test["label"].to_numpy()).tolist() == list(range(60, 120))
    assert raw_test.attrs == {"source": str(tmp_path / "WADI_attackdata.csv")}


def test_the_built_in_table_covers_the_a1_attack_file():
    index = pd.date_range("2017-10-09 18:00:00", periods=172_801, freq="s")

    labels = attack_labels(index, WADI_A1_ATTACK_TABLE, "A1 attack file")
    assert labels.sum() == 9_948 and round(labels.mean(), 4) == 0.0576
    assert labels[index.get_loc(pd.Timestamp("2017-10-11 10:55:00"))] == 1  # attack 9, dated 11 Oct


# ---------------------------------------------------------------------------------------------- bad input


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataFormatError, match="not found"):
        read_wadi_csv(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match="empty"):
        read_wadi_csv(tmp_path / "empty.csv")


def test_a_file_that_is_not_wadi(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Timestamp,a,b\n1,2,3\n")
    with pytest.raises(DataFormatError, match=r"no header line starting with 'Row,Date,Time'.*WADI file"):
        read_wadi_csv(path)


def test_wrong_column_count_names_the_missing_tag(tmp_path):
    path = write(wadi_like(), tmp_path / "w.csv", "a1_attack")
    dropped = 3 + WADI_TAGS.index("1_FIT_001_PV")  # every line loses that field
    lines = [",".join(f for i, f in enumerate(line.split(",")) if i != dropped)
             for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"129 columns, expected 130.*missing tag\(s\) \['1_FIT_001_PV'\]"):
        read_wadi_csv(path)


def test_unknown_and_repeated_columns(tmp_path):
    path = write(wadi_like(), tmp_path / "w.csv", "a2_normal")
    text = path.read_text().replace("1_AIT_002_PV", "1_AIT_001_PV", 1)
    path.write_text(text)
    with pytest.raises(DataFormatError, match=r"repeated column\(s\) \['1_AIT_001_PV'\]"):
        read_wadi_csv(path)
    path.write_text(text.replace("1_AIT_001_PV", "1_AIT_009_PV", 1))
    with pytest.raises(DataFormatError, match=r"unknown column\(s\) \['1_AIT_009_PV'\]"):
        read_wadi_csv(path)


def test_a_row_with_a_missing_field_names_its_line(tmp_path):
    path = write(wadi_like(), tmp_path / "WADI_14days.csv", "a1_normal")
    lines = path.read_text().splitlines()
    lines[20] = lines[20].rsplit(",", 1)[0]  # line 21 loses its last field
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"WADI_14days.csv: line 21 has 129 fields, expected 130"):
        read_wadi_csv(path)


def test_a_non_numeric_cell_names_column_and_line(tmp_path):
    path = write(wadi_like(), tmp_path / "w.csv", "a1_attack")
    lines = path.read_text().splitlines()
    fields = lines[7].split(",")
    fields[3 + WADI_TAGS.index("2_LT_001_PV")] = "n/a?"
    lines[7] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"column '.*2_LT_001_PV', line 8: 'n/a\?' is not a number"):
        read_wadi_csv(path)


@pytest.mark.parametrize(("column", "bad", "message"), [
    ("Date", "13/45/2017", r"column 'Date', line 9: cannot parse '13/45/2017' as M/D/YYYY"),
    ("Time", "25:61:00 XM", r"column 'Time', line 9: cannot parse '25:61:00 XM'"),
])
def test_unparseable_date_or_time(tmp_path, column, bad, message):
    path = write(wadi_like(), tmp_path / "w.csv", "a1_attack")
    raw = read_wadi_csv(path)
    raw.loc[7, column] = bad
    with pytest.raises(DataFormatError, match=message):
        parse_wadi_frame(raw)


def test_duplicated_and_unsorted_timestamps(tmp_path):
    raw = read_wadi_csv(write(wadi_like(), tmp_path / "w.csv", "a1_attack"))
    dup = raw.copy()
    dup.loc[5, ["Date", "Time"]] = dup.loc[4, ["Date", "Time"]].to_numpy()
    with pytest.raises(DataFormatError, match=r"line 7: duplicated timestamp"):
        parse_wadi_frame(dup)
    back = raw.copy()
    back.loc[5, ["Date", "Time"]] = back.loc[2, ["Date", "Time"]].to_numpy()
    with pytest.raises(DataFormatError, match=r"line 7: unsorted timestamp"):
        parse_wadi_frame(back)


def test_unknown_a2_label(tmp_path):
    path = write(wadi_like(), tmp_path / "WADI_attackdataLABLE.csv", "a2_attack")
    lines = path.read_text().splitlines()
    lines[12] = lines[12].rsplit(",", 1)[0] + ",0"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"line 13: unknown label 0.0; expected 1 \(no attack\) or -1"):
        parse_wadi_frame(read_wadi_csv(path))


def test_unparseable_or_reversed_attack_interval_names_it(tmp_path):
    raw = read_wadi_csv(write(wadi_like(), tmp_path / "w.csv", "a1_attack"))
    table = tmp_path / "attacks.csv"
    table.write_text("start,end\n2017-10-09 11:59:00,2017-10-09 11:59:30\n2017-10-09 12:00:00,noon-ish\n")
    with pytest.raises(DataFormatError, match=rf"{table}: line 3: cannot parse the attack time 'noon-ish'"):
        parse_wadi_frame(raw, read_attack_table(table))
    table.write_text("start,end\n2017-10-09 12:00:00,2017-10-09 11:59:00\n")
    with pytest.raises(DataFormatError, match=r"line 2: the attack interval .* ends before it starts"):
        parse_wadi_frame(raw, read_attack_table(table))


def test_attack_table_of_another_file_or_without_columns(tmp_path):
    raw = read_wadi_csv(write(wadi_like(start="2019-01-01 00:00:00"), tmp_path / "w.csv", "a1_attack"))
    with pytest.raises(DataFormatError, match=r"none of the 14 attack intervals .* falls inside the file"):
        parse_wadi_frame(raw, WADI_A1_ATTACK_TABLE)
    table = tmp_path / "attacks.csv"
    table.write_text("from,to\n1,2\n")
    with pytest.raises(DataFormatError, match=r"needs 'start' and 'end' columns"):
        read_attack_table(table)


def test_trailing_empty_rows_are_ignored(tmp_path):
    original = wadi_like()
    path = write(original, tmp_path / "WADI_attackdataLABLE.csv", "a2_attack")
    with path.open("a") as handle:
        handle.write("," * (len(WADI_TAGS) + 3) + "\n")
        handle.write("," * (len(WADI_TAGS) + 3) + "\n")
    typed = parse_wadi_frame(read_wadi_csv(path))
    assert len(typed) == len(original)
