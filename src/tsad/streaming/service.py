"""The stream: rows from a source, scored by a registered model as they arrive, alarms to sinks.

``tsad stream --model models:/swat@champion --source <folder | mqtt://host:port/topic> --alarms <file.jsonl |
mqtt://host:port/topic>``; every option can also come from the ``stream`` parameters block
(conf/base/parameters/stream.yml), the command line winning. One loop, one thread: each turn polls the source,
turns what arrived into typed rows per entity (``rows``), scores them (``scoring``), turns final flags into alarm
events (``alarms``), writes them, and checks between turns whether the model's alias has moved.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import mlflow
import numpy as np

from tsad.config import LOADER_ARGS, TsadConfigLoader
from tsad.streaming.alarms import AlarmOptions, AlarmTracker
from tsad.streaming.model import StreamModel
from tsad.streaming.rows import RowCounts, RowReader
from tsad.streaming.scoring import Scored, StreamScorer
from tsad.streaming.sources import JsonlSink, open_sink, open_source

logger = logging.getLogger(__name__)

class Stream:
    """One model, one source, any sinks; ``step()`` is one turn of the loop (tests drive it directly)."""

    def __init__(self, model: StreamModel, source: Any, alarm_sinks: list[Any], score_sinks: list[Any] = (),
                 *, bad_rows: str, ignore_columns: list[str], alarm: AlarmOptions, gap_factor: float):
        self.model, self.source = model, source
        self.alarm_sinks, self.score_sinks = list(alarm_sinks), list(score_sinks)
        self.scorer = StreamScorer(model.bundle)
        self.reader_options = {"policy": bad_rows, "ignore_columns": list(ignore_columns), "gap_factor": gap_factor}
        self.reader = self._reader(RowCounts())
        self.alarms = AlarmTracker(alarm)
        self.switches: list[tuple[str, str]] = []
        self.failed_batches = 0

    def _reader(self, counts: RowCounts) -> RowReader:
        """A reader for the current model's rows, counting on in ``counts`` (they run on across model switches)."""
        reader = RowReader(self.scorer.input_format, self.scorer.known_entities, **self.reader_options)
        reader.counts = counts
        return reader

    def step(self) -> int:
        """Poll once and handle what arrived; the number of rows received.

        Nothing that arrives stops the stream: bad rows are the reader's to log and skip, and a batch that fails
        anyway (a fault of the stream itself) is logged with its traceback and counted, and the entities it
        touched start their windows afresh.
        """
        self._follow_alias()
        received = 0
        for batch in self.source.poll():
            received += len(batch.rows)
            last = {entity: self.scorer.last_time(entity) for entity in self.scorer.entities}
            entity = None
            try:
                for entity, rows in self.reader.read(batch, last).items():
                    self._emit(self.scorer.add(entity, rows))
            except Exception:  # noqa: BLE001 - a live stream logs a failed batch and goes on
                self.failed_batches += 1
                logger.exception("%s: this batch of %d rows failed and is dropped [%d so far]", batch.origin,
                                 len(batch.rows), self.failed_batches)
                if entity is not None:
                    self.scorer.entities.pop(entity, None)
        return received

    def _follow_alias(self) -> None:
        previous, bundle = self.model.version, self.model.bundle
        try:
            if not self.model.reload_if_moved():
                return
            self.scorer.use(self.model.bundle)
        except Exception as error:  # noqa: BLE001 - a model the stream cannot use leaves the current one in place
            self.model.bundle, self.model.version = bundle, previous
            logger.error("%s moved to a model this stream cannot use (%s); scoring on with %s", self.model.uri,
                         error, previous)
            return
        self.switches.append((previous, self.model.version))
        self.reader = self._reader(self.reader.counts)

    def finish(self, flush: bool) -> None:
        """End the stream: with ``flush`` (a finite replay's end) score the rows still waiting for later ones, as
        a batch run does at its file's end; then close open alarms and the sinks."""
        if flush:
            for scored in self.scorer.flush():
                self._emit(scored)
        elif self.scorer.pending():
            logger.info("%d row(s) were still waiting for the rows after them and are not scored",
                        self.scorer.pending())
        self._write(self.alarm_sinks, self.alarms.close_all("stream ended"))
        for sink in self.alarm_sinks + self.score_sinks:
            sink.close()
        close = getattr(self.source, "close", None)
        if close:
            close()
        logger.info("stream ended: %s", json.dumps(self.stats()))

    def stats(self) -> dict[str, Any]:
        return {**self.reader.counts.as_dict(), "bad_messages": getattr(self.source, "bad_messages", 0),
                "alarms": self.alarms.opened, "suppressed_flags": self.alarms.suppressed,
                "pending_rows": self.scorer.pending(), "model": self.model.version,
                "model_switches": len(self.switches), "failed_batches": self.failed_batches}

    def _emit(self, scored: Scored | None) -> None:
        if scored is None:
            return
        if self.score_sinks:
            self._write(self.score_sinks, score_events(scored))
        self._write(self.alarm_sinks, self.alarms.update(scored))

    @staticmethod
    def _write(sinks: list[Any], events: list[dict[str, Any]]) -> None:
        if events:
            for sink in sinks:
                sink.write(events)


def score_events(scored: Scored) -> list[dict[str, Any]]:
    """One JSON-ready record per scored row: entity, time, score, flag, and how many evidence channels departed
    (the alarm events name them)."""
    times = (np.datetime_as_string(np.asarray(scored.times, dtype="datetime64[s]")).tolist()
             if np.issubdtype(np.asarray(scored.times).dtype, np.datetime64) else np.asarray(scored.times).tolist())
    departed = scored.departed.sum(axis=1).tolist()
    return [{"entity": scored.entity, "time": t, "score": float(s), "flag": int(f), "departed": d}
            for t, s, f, d in zip(times, scored.scores.tolist(), scored.flags.tolist(), departed, strict=True)]


def run(stream: Stream, poll_s: float, until_idle_s: float | None = None) -> None:
    """Turn the loop until SIGTERM or Ctrl-C (open alarms closed, waiting rows left unscored), or, with
    ``until_idle_s``, until no row has arrived for that long (a replay: waiting rows are flushed)."""
    stopping = {"signal": None}

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    idle_since = time.monotonic()
    try:
        while stopping["signal"] is None:
            if stream.step():
                idle_since = time.monotonic()
            elif until_idle_s is not None and time.monotonic() - idle_since >= until_idle_s:
                break
            else:
                time.sleep(poll_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stream.finish(flush=stopping["signal"] is None)


def load_options(overrides: dict[str, Any], env: str | None = None) -> tuple[dict[str, Any], str | None]:
    """The ``stream`` parameters block of the project in the working directory (conf/base/parameters/stream.yml,
    then ``env``, default ``local``) with the command line's values, and the project's MLflow tracking URI
    (conf/base/mlflow.yml)."""
    if not Path("conf").is_dir():
        raise SystemExit("tsad stream: run it in the project's folder (its conf/ holds the stream parameters)")
    loader = TsadConfigLoader("conf", env=env, **LOADER_ARGS)
    options = dict(loader["parameters"]["stream"])
    options.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("model", "source", "alarms"):
        if not options.get(key):
            raise SystemExit(f"tsad stream: no {key} given (--{key} or stream.{key} in the parameters)")
    return options, loader["mlflow"]["server"]["mlflow_tracking_uri"]


def open_stream(options: dict[str, Any]) -> Stream:
    model = StreamModel(options["model"], options["reload_check_s"])
    fmt = model.bundle["preprocessing"]["input_format"]
    source = open_source(str(options["source"]), fmt["time_column"], entity_files=fmt["entity_column"] is not None)
    scores = [JsonlSink(options["scores"])] if options.get("scores") else []
    return Stream(model, source, [open_sink(str(options["alarms"]))], scores, bad_rows=options["bad_rows"],
                  ignore_columns=options["ignore_columns"], alarm=AlarmOptions(**options["alarm"]),
                  gap_factor=float(options["gap_factor"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsad stream", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model URI, e.g. models:/swat@champion (followed when the alias moves)")
    parser.add_argument("--source", help="a folder of growing CSV / new Parquet files, or mqtt://HOST:PORT/TOPIC")
    parser.add_argument("--alarms", help="alarm events to a .jsonl file or mqtt://HOST:PORT/TOPIC")
    parser.add_argument("--scores", help="also every scored row (entity, time, score, flag) to a .jsonl file")
    parser.add_argument("--until-idle", dest="until_idle_s", type=float,
                        help="stop after this many seconds without rows, scoring the waiting rows (a replay)")
    parser.add_argument("--poll", dest="poll_s", type=float, help="seconds between polls when idle (0.5)")
    parser.add_argument("--bad-rows", dest="bad_rows", choices=("skip", "hold"))
    parser.add_argument("--env", help="Kedro configuration environment for the stream parameters block")
    args = vars(parser.parse_args(argv))
    env = args.pop("env")
    # One plain line per message (Kedro's rich handler, set up on import, wraps lines at 80 columns in a pipe).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr, force=True)
    logging.getLogger("kedro").setLevel(logging.WARNING)
    options, tracking = load_options(args, env)
    mlflow.set_tracking_uri(tracking)
    stream = open_stream(options)
    run(stream, float(options["poll_s"]), options.get("until_idle_s"))
    return 0
