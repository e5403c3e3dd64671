"""Alarm events from streamed flags: what an operator is paged with, rather than one flag per row.

Per entity, an alarm opens at the first flagged row (or, with ``min_flags`` above 1, at the first of that many
consecutive flagged rows) and closes once ``quiet`` rows in a row are unflagged; its end is its last flagged row.
After an alarm closes, flags within ``suppress`` rows of its end open no new alarm (they are counted as
suppressed). Two events go out per alarm: ``open`` (entity, start, the score so far) and ``close`` (entity, start,
end, peak score and its time, flagged rows, and the channels that moved most); both name the channels kept as
evidence (constant in training) that departed from their training value so far, in ``departed``.

The channels that moved most: for detectors that score each channel (the predictors), the channels with the
largest per-channel score over the alarm; for the others, the largest departure of the channel's scaled value from
its mean over the ``baseline_rows`` rows before the alarm opened.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

from tsad.streaming.scoring import Scored


@dataclasses.dataclass(frozen=True)
class AlarmOptions:
    """``stream.alarm`` (conf/base/parameters/stream.yml holds the defaults and says what each does)."""

    quiet: int
    min_flags: int
    suppress: int
    top_channels: int
    baseline_rows: int

    def __post_init__(self) -> None:
        for name in ("quiet", "min_flags", "top_channels", "baseline_rows"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"stream.alarm.{name} must be a positive number of rows, got {getattr(self, name)}")
        if int(self.suppress) < 0:
            raise ValueError(f"stream.alarm.suppress must be >= 0 rows, got {self.suppress}")


@dataclasses.dataclass
class _Alarm:
    start: Any
    end: Any
    peak_score: float
    peak_time: Any
    flagged: int
    moved: np.ndarray  # per channel, the largest evidence over the alarm
    departed: np.ndarray  # per evidence channel, whether it departed during the alarm


class _EntityAlarms:
    def __init__(self, options: AlarmOptions):
        self.options = options
        self.open: _Alarm | None = None
        self.quiet = 0
        self.run: list[tuple[Any, float, np.ndarray, np.ndarray]] = []  # flagged rows not yet an alarm (debouncing)
        self.since_close: int | None = None
        self.baseline: deque = deque(maxlen=options.baseline_rows)
        self.channels: list[str] = []
        self.departed_channels: list[str] = []


class AlarmTracker:
    """Turns ``Scored`` rows into alarm events (dicts, JSON-ready)."""

    def __init__(self, options: AlarmOptions):
        self.options = options
        self.entities: dict[str, _EntityAlarms] = {}
        self.suppressed = 0
        self.opened = 0

    def update(self, scored: Scored) -> list[dict[str, Any]]:
        state = self.entities.setdefault(scored.entity, _EntityAlarms(self.options))
        state.channels, state.departed_channels = scored.channels, scored.departed_channels
        if state.open is None and not state.run and not scored.flags.any():  # the usual case: nothing to track
            state.baseline.extend(scored.evidence[-self.options.baseline_rows:])
            if state.since_close is not None:
                state.since_close += len(scored)
            return []
        events = []
        for i in range(len(scored)):  # rows already scored: bookkeeping only, a handful of comparisons each
            time, score, row = scored.times[i], float(scored.scores[i]), scored.evidence[i]
            if scored.flags[i]:
                moved = row if scored.channel_scored else self._departure(state, row)
                events += self._flagged(state, scored.entity, (time, score, moved, scored.departed[i]))
            else:
                events += self._quiet(state, scored.entity, row)
        return events

    def close_all(self, reason: str) -> list[dict[str, Any]]:
        """Close every open alarm (the stream stops), with ``reason``."""
        return [self._close(state, entity, reason)
                for entity, state in self.entities.items() if state.open is not None]

    def _flagged(self, state: _EntityAlarms, entity: str, row: tuple[Any, float, np.ndarray, np.ndarray]
                 ) -> list[dict[str, Any]]:
        """A flagged row: its time, score, channel departure and evidence channels departed."""
        options = self.options
        time, score, departure, departed = row
        if state.open is not None:
            alarm = state.open
            alarm.end, alarm.flagged, state.quiet = time, alarm.flagged + 1, 0
            if score > alarm.peak_score:
                alarm.peak_score, alarm.peak_time = score, time
            np.maximum(alarm.moved, departure, out=alarm.moved)
            alarm.departed |= departed
            return []
        if state.since_close is not None and state.since_close < options.suppress:
            state.since_close += 1
            self.suppressed += 1
            return []
        state.run.append(row)
        if len(state.run) < options.min_flags:
            return []
        times, scores, departures, departed_rows = zip(*state.run, strict=True)
        peak = int(np.argmax(scores))
        state.open = _Alarm(times[0], times[-1], float(scores[peak]), times[peak], len(times),
                            np.max(np.vstack(departures), axis=0), np.any(np.vstack(departed_rows), axis=0))
        state.run, state.quiet = [], 0
        self.opened += 1
        return [{"event": "open", "entity": entity, "start": _text(times[0]),
                 "score": float(scores[peak]), "flagged_rows": len(times),
                 "departed": _departed(state.departed_channels, state.open.departed)}]

    def _quiet(self, state: _EntityAlarms, entity: str, row: np.ndarray) -> list[dict[str, Any]]:
        state.run = []
        if state.open is None:
            state.baseline.append(row)
            if state.since_close is not None:
                state.since_close += 1
            return []
        state.quiet += 1
        if state.quiet >= self.options.quiet:
            return [self._close(state, entity, "quiet")]
        return []

    def _departure(self, state: _EntityAlarms, row: np.ndarray) -> np.ndarray:
        if not state.baseline:
            return np.zeros_like(row)
        return np.abs(row - np.mean(np.vstack(state.baseline), axis=0))

    def _close(self, state: _EntityAlarms, entity: str, reason: str) -> dict[str, Any]:
        alarm, state.open, state.quiet, state.since_close = state.open, None, 0, 0
        order = np.argsort(-alarm.moved, kind="stable")[: self.options.top_channels]
        return {"event": "close", "entity": entity, "start": _text(alarm.start), "end": _text(alarm.end),
                "peak_score": alarm.peak_score, "peak_time": _text(alarm.peak_time), "flagged_rows": alarm.flagged,
                "channels": [{"channel": state.channels[j], "moved": round(float(alarm.moved[j]), 6)}
                             for j in order if j < len(state.channels)],
                "departed": _departed(state.departed_channels, alarm.departed), "closed_by": reason}


def _departed(names: list[str], departed: np.ndarray) -> list[str]:
    """The evidence channels that departed during an alarm."""
    return [name for name, moved in zip(names, departed, strict=True) if moved]


def _text(time: Any) -> Any:
    """Times as ISO text (JSON), steps as integers."""
    if isinstance(time, pd.Timestamp | np.datetime64):
        return pd.Timestamp(time).isoformat()
    return int(time)
