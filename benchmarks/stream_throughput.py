"""Benchmark: a registered model scoring a live stream (``tsad stream``'s loop) on simulated SWaT rows (not a test).

Trains and registers the models in a temporary copy of the project (as serving_throughput.py does: training
options change training only), simulates ``--rows`` rows of the plant's attack period as SWaT writes them, and
replays them through the folder source into the stream, twice per model:

- row by row: one line appended, then one turn of the loop (poll, parse, score, alarms), as a historian writing
  every second would be read; the rows/s is the most a single stream takes when every row is its own batch;
- in micro-batches of ``--batch`` rows per turn (a gateway that forwards every few seconds).

Latencies, row by row: a row's flag can be final only once the last window that covers it has arrived
(``W - 1`` rows later for mean aggregation: the decision delay, in rows, printed beside); "processing" is the time
from the arrival of that last needed row to the flag being written, and "alarm" the time from the arrival of the
row that made an alarm's first flag final to the alarm's ``open`` event. At the plant's own pace (1 row/s) an
alarm therefore reaches the operator (decision delay) x 1 s + the alarm latency after its first anomalous row.

Usage: python benchmarks/stream_throughput.py [--rows 10000] [--batch 100] [--methods pca tman]
       [--params datasets.swat.methods.tman.model.epochs=1] [--smoke]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import torch
from serving_throughput import train_in_copy
from smoke import parse_args

from tsad.benchmark import runtime_params_from
from tsad.datasets.swat.files import write_swat_csv
from tsad.simulators.swat_plant import simulate_swat_plant
from tsad.streaming.alarms import AlarmOptions
from tsad.streaming.model import StreamModel
from tsad.streaming.scoring import Geometry
from tsad.streaming.service import Stream
from tsad.streaming.sources import FolderSource


class TimedSink:
    """Keeps each event with the time it was written."""

    def __init__(self):
        self.events: list[tuple[float, dict]] = []

    def write(self, events: list[dict]) -> None:
        now = time.perf_counter()
        self.events += [(now, event) for event in events]

    def close(self) -> None:
        return None


def replay(model: StreamModel, lines: list[str], folder: Path, batch: int) -> tuple[float, np.ndarray, TimedSink,
                                                                                   TimedSink]:
    """Append ``lines`` (header first) ``batch`` at a time, one stream turn each; rows/s, arrival times, sinks."""
    for old in folder.glob("*"):
        old.unlink()
    alarms, scores = TimedSink(), TimedSink()
    options = AlarmOptions(quiet=30, min_flags=1, suppress=0, top_channels=3, baseline_rows=60)
    stream = Stream(model, FolderSource(folder, "Timestamp", entity_files=False), [alarms], [scores],
                    bad_rows="skip", ignore_columns=["Normal/Attack"], alarm=options, gap_factor=5.0)
    body = lines[1:]
    arrival = np.empty(len(body))
    with (folder / "plant.csv").open("w") as handle:
        handle.write(lines[0])
        handle.flush()
        started = time.perf_counter()
        for at in range(0, len(body), batch):
            arrival[at:at + batch] = time.perf_counter()
            handle.write("".join(body[at:at + batch]))
            handle.flush()
            stream.step()
        elapsed = time.perf_counter() - started
    stream.finish(flush=False)
    return len(body) / elapsed, arrival, scores, alarms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--methods", nargs="+", default=["pca", "tman"])
    parser.add_argument("--params", nargs="*", default=["datasets.swat.methods.tman.model.epochs=2"],
                        help="dotted runtime parameters for training")
    args = parse_args(parser, smoke={"rows": 600, "batch": 50, "methods": ["pca"],
                                     "params": ["swat_simulator_preset=tiny"]})
    logging.getLogger("tsad.streaming").setLevel(logging.ERROR)
    plant = simulate_swat_plant(n_normal=1_000, n_attack=args.rows, seed=7)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        write_swat_csv(plant.attack, tmp / "attack.csv")
        lines = (tmp / "attack.csv").read_text().splitlines(keepends=True)
        uri = train_in_copy(tmp / "project", args.methods, runtime_params_from(args.params))
        mlflow.set_tracking_uri(uri)
        folder = tmp / "incoming"
        folder.mkdir()
        for method in args.methods:
            model = StreamModel(f"models:/{method}_swat/latest")
            delay = model_delay(model)
            one_rate, arrival, scores, alarms = replay(model, lines, folder, 1)
            batch_rate, *_ = replay(model, lines, folder, args.batch)
            times = pd.DatetimeIndex(plant.attack.index)
            written = np.array([t for t, _ in scores.events])
            decided = np.array([times.get_loc(pd.Timestamp(e["time"])) for _, e in scores.events])
            last_needed = np.minimum(decided + delay, len(arrival) - 1)
            processing = (written - arrival[last_needed]) * 1e3
            opens = [(t, e) for t, e in alarms.events if e["event"] == "open"]
            alarm_ms = np.array([(t - arrival[min(times.get_loc(pd.Timestamp(e["start"])) + delay,
                                                  len(arrival) - 1)]) * 1e3 for t, e in opens])
            alarm_text = (f"alarm median {np.median(alarm_ms):.1f} ms p99 {np.percentile(alarm_ms, 99):.1f} ms "
                          f"({len(opens)} alarms)") if opens else "no alarm raised"
            print(f"{method:<6} row by row {one_rate:8,.0f} rows/s  processing median {np.median(processing):.1f} ms "  # noqa: T201
                  f"p99 {np.percentile(processing, 99):.1f} ms  {alarm_text}  decision delay {delay} rows")
            print(f"{method:<6} batches of {args.batch} {batch_rate:8,.0f} rows/s on {len(arrival):,} rows, "  # noqa: T201
                  f"{torch.get_num_threads()} torch threads")


def model_delay(model: StreamModel) -> int:
    """Rows after a row that must arrive before its flag is final."""
    return Geometry.of(model.bundle).lookahead


if __name__ == "__main__":
    main()
