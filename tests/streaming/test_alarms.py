"""Flags to alarm events: open at the first flag, close after the quiet period, debounce, suppress, name channels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsad.streaming.alarms import AlarmOptions, AlarmTracker
from tsad.streaming.scoring import Scored


def options(**changes) -> AlarmOptions:
    return AlarmOptions(**{"quiet": 3, "min_flags": 1, "suppress": 0, "top_channels": 2, "baseline_rows": 5,
                           **changes})


def scored(flags: str, evidence: np.ndarray | None = None, departed: np.ndarray | None = None) -> Scored:
    """Rows at 1 s from a string of 0/1 flags; scores are 1 + the flag, evidence zeros unless given; ``departed``:
    the rows' departures of the evidence channels P1 and P2 (none unless given)."""
    flagged = np.array([c == "1" for c in flags])
    times = pd.date_range("2021-01-01", periods=len(flags), freq="s", name="timestamp")
    rows = np.zeros((len(flags), 3)) if evidence is None else evidence
    departed = np.zeros((len(flags), 2), bool) if departed is None else departed
    return Scored("", times, 1.0 + flagged, flagged, rows, ["x", "y", "z"], False, departed, ["P1", "P2"])


def test_an_alarm_opens_at_the_first_flag_and_closes_after_the_quiet_period():
    tracker = AlarmTracker(options())
    events = tracker.update(scored("0011010001110000"))
    assert [e["event"] for e in events] == ["open", "close", "open", "close"]
    first, second = events[1], events[3]
    assert (first["start"], first["end"]) == ("2021-01-01T00:00:02", "2021-01-01T00:00:05")  # one quiet row between
    assert first["flagged_rows"] == 3 and first["closed_by"] == "quiet"
    assert (second["start"], second["end"]) == ("2021-01-01T00:00:09", "2021-01-01T00:00:11")


def test_events_do_not_depend_on_how_rows_are_batched():
    flags = "0011010001110000110"
    whole = AlarmTracker(options()).update(scored(flags))
    tracker = AlarmTracker(options())
    one = scored(flags)
    parts = []
    for i in range(len(flags)):
        parts += tracker.update(Scored("", one.times[i:i + 1], one.scores[i:i + 1], one.flags[i:i + 1],
                                       one.evidence[i:i + 1], one.channels, False, one.departed[i:i + 1],
                                       one.departed_channels))
    assert parts == whole[:len(parts)] and len(parts) == len(whole)


def test_debouncing_and_suppression():
    debounced = AlarmTracker(options(min_flags=2)).update(scored("0100110000"))
    assert [e["event"] for e in debounced] == ["open", "close"] and debounced[0]["start"] == "2021-01-01T00:00:04"
    tracker = AlarmTracker(options(suppress=3))
    events = tracker.update(scored("01000100000001000"))
    assert [e["start"] for e in events if e["event"] == "open"] == ["2021-01-01T00:00:01", "2021-01-01T00:00:13"]
    assert tracker.suppressed == 1


def test_the_channels_that_moved_most_are_named():
    evidence = np.zeros((12, 3))
    evidence[6:8, 2] = 5.0  # z jumps during the alarm
    evidence[6:8, 0] = 1.0
    events = AlarmTracker(options()).update(scored("000000110000", evidence))
    close = events[-1]
    assert [c["channel"] for c in close["channels"]] == ["z", "x"] and close["channels"][0]["moved"] == 5.0


def test_alarms_name_the_evidence_channels_that_departed():
    departed = np.zeros((12, 2), bool)
    departed[7:9, 1] = True  # P2 departs from its training value during the second alarm
    events = AlarmTracker(options()).update(scored("011000110000", departed=departed))
    assert [(e["event"], e["departed"]) for e in events] == [("open", []), ("close", []), ("open", []),
                                                              ("close", ["P2"])]


def test_open_alarms_close_when_the_stream_ends():
    tracker = AlarmTracker(options())
    assert [e["event"] for e in tracker.update(scored("0011"))] == ["open"]
    (event,) = tracker.close_all("stream ended")
    assert event["closed_by"] == "stream ended" and event["end"] == "2021-01-01T00:00:03"


@pytest.mark.parametrize("bad", [{"quiet": 0}, {"min_flags": 0}, {"suppress": -1}])
def test_options_are_checked(bad):
    with pytest.raises(ValueError, match="stream.alarm"):
        options(**bad)
