"""SWaT files as distributed: CSV (both styles) and .xlsx, header quirks, and every bad-input case."""

import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsad.core.errors import DataFormatError
from tsad.datasets.swat.files import (
    SWAT_ACTUATORS,
    SWAT_RAW_HEADER,
    SWAT_TAGS,
    TIMESTAMP_FORMAT,
    format_swat_timestamps,
    parse_swat_frame,
    parse_swat_timestamps,
    read_swat_export,
    write_swat_csv,
    write_swat_xlsx,
)


def swat_like(n: int = 40, seed: int = 0, start: str = "2015-12-28 10:00:00") -> pd.DataFrame:
    """A small typed SWaT frame, crossing noon so that AM/PM and unpadded hours are exercised."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.uniform(0, 900, size=(n, len(SWAT_TAGS))).round(4), columns=list(SWAT_TAGS),
                         index=pd.date_range(start, periods=n, freq="37min", name="timestamp"))
    for tag in SWAT_ACTUATORS:
        frame[tag] = rng.integers(0, 3, n).astype(float)
    labels = np.array(["Normal"] * n, dtype=object)
    labels[n // 4: n // 4 + 5] = "Attack"
    labels[n // 4 + 2: n // 4 + 3] = "A ttack"
    frame["label"] = labels
    return frame


def expected_labels(frame: pd.DataFrame) -> np.ndarray:
    return (frame["label"] != "Normal").to_numpy().astype(np.int8)


def check_typed(typed: pd.DataFrame, original: pd.DataFrame) -> None:
    assert list(typed.columns) == [*SWAT_TAGS, "label"]
    assert typed.index.name == "timestamp" and typed.index.equals(original.index)
    assert all(typed[t].dtype == np.float32 for t in SWAT_TAGS) and typed["label"].dtype == np.int8
    np.testing.assert_allclose(typed[list(SWAT_TAGS)].to_numpy(), original[list(SWAT_TAGS)].to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(typed["label"].to_numpy(), expected_labels(original))


@pytest.mark.parametrize("style", [{"sep": ",", "decimal": "."}, {"sep": ";", "decimal": ","},
                                   {"sep": ",", "decimal": ".", "group_header": True}])
def test_csv_exports_round_trip(tmp_path, style):
    original = swat_like()
    path = tmp_path / "SWaT_Dataset_Attack_v0.csv"
    write_swat_csv(original, path, **style)
    raw = read_swat_export(path)
    assert raw.attrs["source"] == str(path)
    check_typed(parse_swat_frame(raw), original)


def test_raw_layout_has_the_distributed_quirks(tmp_path):
    path = tmp_path / "a.csv"
    write_swat_csv(swat_like(), path)
    header, first = path.read_text().splitlines()[:2]
    assert header.split(",") == list(SWAT_RAW_HEADER)
    assert header.startswith(" Timestamp,FIT101,LIT101, MV101,")
    assert first.startswith(" 28/12/2015 10:00:00 AM,")
    assert "A ttack" in path.read_text()


def test_unpadded_day_month_and_hour(tmp_path):
    path = tmp_path / "a.csv"
    write_swat_csv(swat_like(3, start="2016-01-02 13:41:09"), path)
    assert path.read_text().splitlines()[1].startswith(" 2/1/2016 1:41:09 PM,")
    assert parse_swat_frame(read_swat_export(path)).index[0] == pd.Timestamp("2016-01-02 13:41:09")


def test_xlsx_with_group_header_row(tmp_path):
    original = swat_like(12)
    path = tmp_path / "SWaT_Dataset_Normal_v1.xlsx"
    write_swat_xlsx(original, path)
    assert pd.read_excel(path, header=None).iloc[0, 1] == "P1"  # the group-header row is really there
    check_typed(parse_swat_frame(read_swat_export(path)), original)


def test_interfusion_style_export_with_unnamed_columns(tmp_path):
    """Normal_v0.csv as some exports have it: a first line of 'Unnamed' names, the real names on line 2."""
    original = swat_like(6)
    path = tmp_path / "n.csv"
    write_swat_csv(original, path)
    lines = path.read_text().splitlines()
    unnamed = ",".join(f"Unnamed: {i}" if i in (0, 52) else "" for i in range(53))
    path.write_text("\n".join([unnamed, *lines]) + "\n")
    check_typed(parse_swat_frame(read_swat_export(path)), original)


# --- bad input: every error names the file, the column and the line ----------------------------------------

def written(tmp_path, edit) -> str:
    path = tmp_path / "bad.csv"
    write_swat_csv(swat_like(), path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    return str(path)


def cell_edit(line_no: int, column: str, value: str):
    position = [c.strip() for c in SWAT_RAW_HEADER].index(column)

    def edit(lines):
        cells = lines[line_no - 1].split(",")
        cells[position] = value
        lines[line_no - 1] = ",".join(cells)
        return lines
    return edit


def parse(path: str) -> pd.DataFrame:
    return parse_swat_frame(read_swat_export(path))


def test_missing_tag_column(tmp_path):
    def drop_lit101(lines):
        return [",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in lines]
    path = written(tmp_path, drop_lit101)
    with pytest.raises(DataFormatError, match=rf"{path}: missing column\(s\) \['LIT101'\]"):
        parse(path)


def test_unparseable_timestamp(tmp_path):
    path = written(tmp_path, cell_edit(6, "Timestamp", " 28/12/2015 25:61:00 XM"))
    with pytest.raises(DataFormatError, match=rf"{path}: column 'Timestamp', line 6: cannot parse"):
        parse(path)


def test_duplicated_timestamp(tmp_path):
    def duplicate(lines):
        lines[8] = lines[7].split(",")[0] + "," + ",".join(lines[8].split(",")[1:])
        return lines
    path = written(tmp_path, duplicate)
    with pytest.raises(DataFormatError, match=rf"{path}: column 'Timestamp', line 9: duplicated timestamp"):
        parse(path)


def test_unsorted_timestamps(tmp_path):
    def swap(lines):
        lines[4], lines[5] = lines[5], lines[4]
        return lines
    path = written(tmp_path, swap)
    with pytest.raises(DataFormatError, match=rf"{path}: column 'Timestamp', line 6: .* earlier than"):
        parse(path)


def test_non_numeric_tag_value(tmp_path):
    path = written(tmp_path, cell_edit(11, "AIT202", "8.1x"))
    with pytest.raises(DataFormatError, match=rf"{path}: column 'AIT202', line 11: '8.1x' is not a number"):
        parse(path)


def test_unknown_label(tmp_path):
    path = written(tmp_path, cell_edit(4, "Normal/Attack", "Maybe"))
    with pytest.raises(DataFormatError, match=rf"{path}: column 'Normal/Attack', line 4: unknown label 'Maybe'"):
        parse(path)


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataFormatError, match=rf"{empty}: the file is empty"):
        read_swat_export(empty)
    header_only = written(tmp_path, lambda lines: lines[:1])
    with pytest.raises(DataFormatError, match="header but no data rows"):
        read_swat_export(header_only)


def test_a_file_that_is_not_swat(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("timestamp,value\n2014-07-01 00:00:00,1.5\n")
    with pytest.raises(DataFormatError, match="no header row with 'Timestamp'"):
        read_swat_export(path)


def test_missing_cells_become_nan_for_the_cleaning_policy(tmp_path):
    path = written(tmp_path, cell_edit(3, "FIT101", ""))
    assert np.isnan(parse(path)["FIT101"].iloc[1])


def test_gzipped_export_round_trip(tmp_path):
    original = swat_like(8)
    path = tmp_path / "SWaT_Dataset_Attack_v0.csv.gz"
    write_swat_csv(original, path, sep=";", decimal=",")
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    check_typed(parse_swat_frame(read_swat_export(path)), original)


# Cells near SWaT's timestamps: fields out of range (day 0-39, month 0-13, hour 0-13, minute/second 0-61),
# impossible dates (29/2/2015, 31/4), two-digit years, any AM/PM case, blanks, stray text.
swat_like_cells = st.builds(
    lambda d, m, y, h, mi, s, noon, pad, tail: f"{pad}{d}/{m}/{y} {h}:{mi:02d}:{s:02d} {noon}{tail}",
    st.integers(0, 39), st.integers(0, 13), st.sampled_from([2015, 2016, 15, 1999]), st.integers(0, 13),
    st.integers(0, 61), st.integers(0, 61), st.sampled_from(["AM", "PM", "am", "pM", "XM"]),
    st.sampled_from(["", " ", "  "]), st.sampled_from(["", " ", "x"]))


@settings(deadline=None, max_examples=300)
@given(st.lists(swat_like_cells | st.text(max_size=12), min_size=1, max_size=20))
def test_timestamp_parser_agrees_with_strptime(cells):
    text = pd.Series(cells, dtype=object)
    expected = pd.to_datetime(text.astype(str).str.strip(), format=TIMESTAMP_FORMAT, errors="coerce")
    parsed = parse_swat_timestamps(text)
    np.testing.assert_array_equal(parsed.isna(), expected.isna())
    assert (parsed[~parsed.isna()] == pd.DatetimeIndex(expected[~expected.isna()])).all()


def test_timestamp_parser_reads_what_the_files_write():
    index = pd.date_range("2015-12-28 10:00:00", periods=3000, freq="97s", name="timestamp")
    assert parse_swat_timestamps(pd.Series(format_swat_timestamps(index))).equals(index)


def test_a_plain_export_has_no_notes(tmp_path):
    path = tmp_path / "plain.csv"
    write_swat_csv(swat_like(), path)
    assert parse(str(path)).attrs["notes"] == []


def test_accepted_oddities_are_logged_once_and_noted(tmp_path, caplog):
    original = swat_like()
    path = tmp_path / "export.csv"
    write_swat_csv(original, path, sep=";", decimal=",")
    lines = path.read_text().splitlines()
    lines = [f"{line};{'Operator' if i == 0 else 'ok'}" for i, line in enumerate(lines)]  # an extra column
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")  # with a byte-order mark
    with caplog.at_level(logging.INFO, logger="tsad.datasets.swat.files"):
        typed = parse(str(path))
    check_typed(typed, original)
    notes = typed.attrs["notes"]
    assert [m for m in caplog.messages if str(path) in m] == notes and len(notes) == 4
    assert f"{path}: ';'-separated (detected)" in notes
    assert f"{path}: a UTF-8 byte-order mark at the start of the file, ignored" in notes
    assert f"{path}: ignored column(s) ['Operator'], which are not SWaT's" in notes
    assert any(n.startswith(f"{path}: decimal commas read as decimal points in") for n in notes)


def test_a_byte_order_mark_before_the_header(tmp_path):
    path = tmp_path / "bom.csv"
    write_swat_csv(swat_like(), path)
    path.write_text(path.read_text(), encoding="utf-8-sig")
    raw = read_swat_export(path)
    assert "Timestamp" in raw.columns and raw.attrs["notes"] == [f"{path}: a UTF-8 byte-order mark at the start of "
                                                                 "the file, ignored"]


def test_a_value_beyond_float32_names_the_file_s_text(tmp_path):
    path = written(tmp_path, cell_edit(5, "LIT101", "1e308"))
    with pytest.raises(DataFormatError, match=r"bad.csv: column 'LIT101', line 5: '1e308' is beyond the range of "
                                              r"float32"):
        parse(path)
