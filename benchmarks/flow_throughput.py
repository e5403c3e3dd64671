"""Benchmark: training and scoring throughput of the graph normalizing flows (ganf, mtgflow, stf2dgl), in windows
per second (not a test).

Windows shaped like SWaT after cleaning (window 12, 51 channels; the papers' protocol uses window 60: --window 60)
are drawn from a smooth random series. Training throughput counts windows seen per second over the timed epochs
(each method's defaults: GANF's augmented Lagrangian included, batch 512; MTGFlow and STF²-DGL batch 256); scoring
throughput counts windows scored per second (−mean log p, no gradients). Runs on the CPU, and on CUDA when torch sees
a GPU.

Usage: python benchmarks/flow_throughput.py [--windows 20000] [--window 12] [--channels 51] [--epochs 2]
       [--methods ganf mtgflow stf2dgl] [--smoke]
"""

from __future__ import annotations

import argparse

import torch
from smoke import parse_args
from throughput import fit_and_score_rates, smooth_windows

METHODS = ["ganf", "mtgflow", "stf2dgl"]


def measure(device: str, args: argparse.Namespace, method: str) -> None:
    windows = smooth_windows(args.windows, args.window, args.channels)
    config = {"method": method, "device": device, "epochs": args.epochs, "patience": 0, "progress": False,
              "epoch_windows": None}  # every window, so that windows seen = epochs × windows
    detector, train_rate, score_rate = fit_and_score_rates(config, windows, lambda d, w: d.decision_function(w))
    print(f"{device:<5} {method:<8} train {train_rate:9,.0f} windows/s   score {score_rate:9,.0f} windows/s   "  # noqa: T201
          f"({len(windows):,} windows of {args.window} x {args.channels}, batch {detector.config.batch_size}, "
          f"torch CPU threads: {torch.get_num_threads()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--channels", type=int, default=51)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    args = parse_args(parser, smoke={"windows": 128, "channels": 4, "epochs": 1})
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for method in args.methods:
            measure(device, args, method)


if __name__ == "__main__":
    main()
