"""Benchmark: TMAN training and scoring throughput in windows per second (not a test).

Windows shaped like the simulated SWaT default after cleaning (window 12, 40 channels) are drawn from a
smooth random series. Training throughput counts windows seen per second over timed epochs (each batch runs
both adversarial phases, i.e. 8 autoencoder passes forward and backward); scoring throughput counts windows
scored per second with no gradients. Runs on the CPU, and on CUDA when torch sees a GPU.

Usage: python benchmarks/tman_throughput.py [--windows 20000] [--window 12] [--channels 40] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from tsad.core.windows import sliding_windows
from tsad.models import registry


def measure(device: str, args: argparse.Namespace, backbone: str) -> None:
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=(args.windows + args.window, args.channels)), axis=0)
    series = ((series - series.min(0)) / np.ptp(series, axis=0)).astype(np.float32)
    windows = sliding_windows(series, args.window)[: args.windows]
    config = {"method": "tman", "backbone": backbone, "device": device, "epochs": args.epochs, "patience": 0,
              "batch_size": args.batch_size, "progress": False}
    detector = registry.build(config)
    started = time.perf_counter()
    detector.fit(windows, windows[:256])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    train_rate = args.epochs * len(windows) / (time.perf_counter() - started)
    detector.decision_function(windows[:1024])  # warm-up
    started = time.perf_counter()
    detector.decision_function(windows)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    score_rate = len(windows) / (time.perf_counter() - started)
    print(f"{device:<5} {backbone:<5} train {train_rate:10,.0f} windows/s   score {score_rate:10,.0f} windows/s   "  # noqa: T201
          f"({len(windows):,} windows of {args.window} x {args.channels}, batch {args.batch_size}, "
          f"{torch.get_num_threads()} CPU threads)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--channels", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for backbone in ("lstm", "tcn"):
            measure(device, args, backbone)


if __name__ == "__main__":
    main()
