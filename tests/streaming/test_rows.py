"""Bad rows on a stream are logged with what they held, counted, and kept out of the model; the stream goes on."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from tsad.streaming.rows import RowBatch, RowReader

FMT = {"time_column": "timestamp", "time_kind": "timestamp", "time_format": None, "entity_column": None,
       "channels": ["a", "b"], "optional": ["label"]}
SWAT_LIKE = {**FMT, "time_column": "Timestamp", "time_format": "%d/%m/%Y %I:%M:%S %p"}
ENTITIES = {**FMT, "time_column": "step", "time_kind": "step", "entity_column": "entity"}


def rows(*records) -> RowBatch:
    return RowBatch(pd.DataFrame(records, dtype=object), "test rows", None, 2)


def test_good_rows_become_typed_rows():
    reader = RowReader(FMT, [""])
    out = reader.read(rows({"timestamp": "2021-01-01 00:00:00", "a": "1.5", "b": 2},
                           {"timestamp": "2021-01-01 00:00:01", "a": " 2,5 ", "b": "3"}), {})
    frame = out[""]
    assert list(frame.columns) == ["a", "b"] and frame.dtypes.eq(np.float32).all()
    assert frame["a"].tolist() == [1.5, 2.5]  # blanks and a decimal comma, as in SWaT's exports
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "timestamp"
    assert reader.counts.accepted == 2 and not reader.counts.bad


@pytest.mark.parametrize(("record", "reason", "logged"), [
    ({"timestamp": "2021-01-01 00:00:01", "a": "oops", "b": 1}, "bad value", "channel 'a' = 'oops'"),
    ({"timestamp": "2021-01-01 00:00:01", "a": "nan", "b": 1}, "bad value", "channel 'a' = 'nan'"),
    ({"timestamp": "2021-01-01 00:00:01", "a": "1e308", "b": 1}, "bad value", "channel 'a' = '1e308'"),
    ({"timestamp": "2021-01-01 00:00:01", "b": 1}, "bad value", "channel 'a' = nan"),
    ({"timestamp": "yesterday", "a": 1, "b": 1}, "bad time", "timestamp='yesterday'"),
    ({"timestamp": "2020-12-31 23:59:59", "a": 1, "b": 1}, "out of order", "is not after 2021-01-01 00:00:00"),
])
def test_a_bad_row_is_logged_counted_and_skipped(record, reason, logged, caplog):
    reader = RowReader(FMT, [""])
    good = {"timestamp": "2021-01-01 00:00:02", "a": 1, "b": 1}
    with caplog.at_level(logging.WARNING):
        out = reader.read(rows(record, good), {"": pd.Timestamp("2021-01-01 00:00:00")})
    assert len(out[""]) == 1 and out[""].index[0] == pd.Timestamp("2021-01-01 00:00:02")
    assert reader.counts.bad == {reason: 1}
    assert f"test rows, line 2: {reason}" in caplog.text and logged in caplog.text


def test_hold_keeps_the_last_good_value():
    reader = RowReader(FMT, [""], policy="hold")
    out = reader.read(rows({"timestamp": "2021-01-01 00:00:00", "a": 1, "b": 5},
                           {"timestamp": "2021-01-01 00:00:01", "a": "x", "b": 6}), {})
    assert out[""]["a"].tolist() == [1.0, 1.0] and out[""]["b"].tolist() == [5.0, 6.0]
    assert reader.counts.held_values == 1 and not reader.counts.bad
    # nothing to hold before the first good row: skipped
    first = RowReader(FMT, [""], policy="hold").read(rows({"timestamp": "2021-01-01", "a": "x", "b": 6}), {})
    assert first == {}


def test_duplicates_and_reordered_rows_within_a_batch_are_skipped():
    reader = RowReader(FMT, [""])
    out = reader.read(rows(*({"timestamp": f"2021-01-01 00:00:{s:02d}", "a": 1, "b": 1} for s in (0, 1, 1, 3, 2, 4))),
                      {})
    assert [t.second for t in out[""].index] == [0, 1, 3, 4]
    assert reader.counts.bad == {"out of order": 2}


def test_gaps_are_scored_through_and_logged(caplog):
    reader = RowReader(FMT, [""])
    times = ["2021-01-01 00:00:00", "2021-01-01 00:00:01", "2021-01-01 00:00:02", "2021-01-01 01:00:00"]
    with caplog.at_level(logging.WARNING):
        out = reader.read(rows(*({"timestamp": t, "a": 1, "b": 1} for t in times)), {})
    assert len(out[""]) == 4 and reader.counts.gaps == 1
    assert "gap of 0 days 00:59:58" in caplog.text


def test_swat_timestamps_extra_and_optional_columns(caplog):
    reader = RowReader(SWAT_LIKE, [""], ignore_columns=["Normal/Attack"])
    with caplog.at_level(logging.WARNING):
        out = reader.read(rows({"Timestamp": " 28/12/2015 10:00:00 AM", "a": "1", "b": "2", "Normal/Attack": "Normal",
                                "spare": "9"}), {})
    assert out[""].index[0] == pd.Timestamp("2015-12-28 10:00:00")
    assert "ignoring column(s) ['spare']" in caplog.text and "Normal/Attack" not in caplog.text


def test_entities_come_from_the_entity_column_or_the_file():
    reader = RowReader(ENTITIES, ["m1", "m2"])
    out = reader.read(rows({"entity": "m1", "step": 0, "a": 1, "b": 1}, {"entity": "m2", "step": 0, "a": 2, "b": 2},
                           {"entity": "m9", "step": 0, "a": 2, "b": 2}), {})
    assert sorted(out) == ["m1", "m2"] and reader.counts.bad == {"unknown entity": 1}
    from_file = RowBatch(pd.DataFrame({"step": [5], "a": [1], "b": [1]}), "m2.csv", "m2", 2)
    assert list(reader.read(from_file, {"m2": 0})) == ["m2"]


@pytest.mark.parametrize("unit", ["s", "us", "ns"])
def test_gaps_against_the_last_buffered_time_in_any_unit(unit):
    reader = RowReader(FMT, [""])
    last = pd.Timestamp("2021-01-01 00:00:00").as_unit(unit)
    for second in (1, 2):
        out = reader.read(rows({"timestamp": f"2021-01-01 00:00:0{second}", "a": 1, "b": 1}), {"": last})
        last = out[""].index[-1]
    assert reader.counts.accepted == 2 and reader.counts.gaps == 0
