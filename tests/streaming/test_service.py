"""The stream's loop keeps going: a failing batch is logged and counted, a champion it cannot use is refused."""

from __future__ import annotations

import copy
import logging

import pandas as pd

from tsad.streaming.alarms import AlarmOptions
from tsad.streaming.rows import RowBatch
from tsad.streaming.service import Stream

ALARM = AlarmOptions(quiet=5, min_flags=1, suppress=0, top_channels=2, baseline_rows=10)


class Model:
    """A model whose alias moves when the test says so."""

    def __init__(self, bundle: dict):
        self.uri, self.version, self.bundle, self.next = "models:/plant@champion", "models:/plant/1", bundle, None

    def reload_if_moved(self) -> bool:
        if self.next is None:
            return False
        self.version, self.bundle, self.next = "models:/plant/2", self.next, None
        return True


class Source:
    def __init__(self):
        self.batches: list[RowBatch] = []

    def poll(self) -> list[RowBatch]:
        out, self.batches = self.batches, []
        return out


class Sink:
    def __init__(self):
        self.events = []

    def write(self, events):
        self.events += events

    def close(self):
        return None


def as_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index().astype({"timestamp": str})


def stream_of(bundle: dict) -> tuple[Stream, Model, Source, Sink]:
    model, source, scores = Model(bundle), Source(), Sink()
    stream = Stream(model, source, [Sink()], [scores], bad_rows="skip", ignore_columns=[], alarm=ALARM,
                    gap_factor=5.0)
    return stream, model, source, scores


def test_a_failing_batch_is_logged_and_the_stream_goes_on(single, monkeypatch, caplog):
    bundle, frame = single
    stream, _, source, scores = stream_of(bundle)
    source.batches = [RowBatch(as_rows(frame.iloc[:100]), "first")]
    stream.step()
    original = stream.scorer.add

    def broken(entity, rows):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(stream.scorer, "add", broken)
    source.batches = [RowBatch(as_rows(frame.iloc[100:200]), "second")]
    with caplog.at_level(logging.ERROR):
        assert stream.step() == 100
    assert "second: this batch of 100 rows failed" in caplog.text and "disk on fire" in caplog.text
    monkeypatch.setattr(stream.scorer, "add", original)
    source.batches = [RowBatch(as_rows(frame.iloc[200:]), "third")]
    stream.step()
    stream.finish(flush=True)
    assert stream.stats()["failed_batches"] == 1
    assert pd.DataFrame(scores.events)["time"].iloc[-1] == frame.index[-1].isoformat()  # scoring went on


def test_a_champion_the_stream_cannot_use_is_refused(single, caplog):
    bundle, frame = single
    stream, model, source, _ = stream_of(bundle)
    unusable = copy.deepcopy(bundle)
    unusable["threshold"]["strategy"] = "spot"
    model.next = unusable
    with caplog.at_level(logging.ERROR):
        stream.step()
    assert "cannot be streamed" in caplog.text and "scoring on with models:/plant/1" in caplog.text
    assert model.version == "models:/plant/1" and stream.switches == []
    model.next = copy.deepcopy(bundle)
    stream.step()
    assert stream.switches == [("models:/plant/1", "models:/plant/2")]
