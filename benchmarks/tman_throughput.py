"""Benchmark: TMAN training and scoring throughput in windows per second (not a test).

Windows shaped like the simulated SWaT default after cleaning (window 12, 40 channels) are drawn from a
smooth random series. Training throughput counts windows seen per second over timed epochs (each batch runs
both adversarial phases, i.e. 8 autoencoder passes forward and backward); scoring throughput counts windows
scored per second with no gradients. Runs on the CPU, and on CUDA when torch sees a GPU.

Usage: python benchmarks/tman_throughput.py [--windows 20000] [--window 12] [--channels 40] [--epochs 2]
       [--batch-size 256] [--smoke]
"""

from __future__ import annotations

import argparse

import torch
from smoke import parse_args
from throughput import fit_and_score_rates, smooth_windows


def measure(device: str, args: argparse.Namespace, backbone: str) -> None:
    windows = smooth_windows(args.windows, args.window, args.channels)
    config = {"method": "tman", "backbone": backbone, "device": device, "epochs": args.epochs, "patience": 0,
              "batch_size": args.batch_size, "progress": False}
    _, train_rate, score_rate = fit_and_score_rates(config, windows, lambda d, w: d.decision_function(w))
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
    args = parse_args(parser, smoke={"windows": 256, "channels": 4, "epochs": 1, "batch_size": 128})
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for backbone in ("dense", "lstm", "tcn"):
            measure(device, args, backbone)


if __name__ == "__main__":
    main()
