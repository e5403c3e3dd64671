"""Benchmark: memory and time of building sliding windows on SWaT-scale data (not a test).

Simulates the SWaT plant at full scale (495,000 normal + 449,919 attack rows = 944,919 x 51 at 1 s), types
it as ingestion does (float32 tags), and measures, with tracemalloc (NumPy reports its allocations to it),
the peak extra memory and the time of the windowing node: windows of 100 rows, stride 1, and their labels.
Target (issue #2): the windows cost at most half the series' own bytes on top of the series.

Usage: python benchmarks/windows_memory.py [--window 100] [--stride 1] [--preset full] [--smoke]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd
from smoke import parse_args

from tsad.core.frames import SINGLE
from tsad.core.windows import sliding_windows
from tsad.datasets.swat.files import SWAT_TAGS
from tsad.pipelines.windowing.nodes import make_windows
from tsad.simulators.swat_plant import simulate_preset


def measure(label: str, build, series_bytes: int) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    result = build()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<48} peak extra {peak / 2**20:9.1f} MiB = {peak / series_bytes:6.3f} x series   "  # noqa: T201
          f"time {elapsed * 1e3:8.1f} ms   -> {result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--preset", default="full")
    args = parse_args(parser, smoke={"preset": "tiny", "window": 12})

    started = time.perf_counter()
    plant = simulate_preset(args.preset)
    both = pd.concat([plant.normal, plant.attack])
    frame = both[list(SWAT_TAGS)].astype(np.float32)
    frame["label"] = (both["label"] != "Normal").to_numpy().astype(np.int8)
    values = frame[list(SWAT_TAGS)].to_numpy()
    series_bytes = values.nbytes
    print(f"series: {values.shape[0]:,} x {values.shape[1]} float32 = {series_bytes / 2**20:.1f} MiB "  # noqa: T201
          f"(simulated in {time.perf_counter() - started:.1f} s); window {args.window}, stride {args.stride}")
    print(f"a materialised copy of all windows would take "  # noqa: T201
          f"{(len(values) - args.window + 1) // args.stride * args.window * values.shape[1] * 4 / 2**30:.1f} GiB")

    def core() -> str:
        windows = sliding_windows(values, args.window, args.stride)
        return f"windows {windows.shape}, shares memory with the series: {np.shares_memory(windows, values)}"

    def node() -> str:
        series = make_windows(frame, {"window": args.window, "stride": args.stride})[SINGLE]  # one series
        windows, labels = series.windows, series.window_labels
        return f"windows {windows.shape} + labels {labels.shape}"

    measure("core.sliding_windows (from the float32 array)", core, series_bytes)
    measure("windowing node (from the typed frame) + labels", node, series_bytes)


if __name__ == "__main__":
    main()
