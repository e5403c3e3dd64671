"""Benchmark: training and scoring throughput of the next-step predictors, in windows per second (not a test).

Windows shaped like one SMD machine after cleaning (window 12, 38 channels) are drawn from a smooth random series.
Training throughput counts windows seen per second over the timed epochs (teacher-forced next-step prediction with
the seed's defaults: the Transformer's 2048-wide feed-forward block, the LSTM's 2 layers of 32), the error
Gaussian's fit on the training windows included; scoring throughput counts windows scored per second with no
gradients (the Transformer: one forward pass; the LSTM: the state carried through the window and the
P (P + 1) / 2 roll-out steps of its P origins). Runs on the CPU, and on CUDA when torch sees a GPU.
On a machine shared with other jobs, compare OMP_NUM_THREADS=1 with torch's default thread count: oversubscribed
cores can make the multi-threaded run several times slower.

Usage: python benchmarks/predictor_throughput.py [--windows 20000] [--window 12] [--channels 38] [--epochs 2]
       [--prediction-window 10] [--methods transformer lstm] [--smoke]
"""

from __future__ import annotations

import argparse

import torch
from smoke import parse_args
from throughput import fit_and_score_rates, smooth_windows


def measure(device: str, args: argparse.Namespace, method: str) -> None:
    windows = smooth_windows(args.windows, args.window, args.channels)
    config = {"method": method, "device": device, "epochs": args.epochs, "patience": 0, "progress": False}
    if method == "lstm":
        config["prediction_window"] = args.prediction_window
    # What the scoring stage runs: per-channel scores (the window score is their sum).
    detector, train_rate, score_rate = fit_and_score_rates(config, windows, lambda d, w: d.channel_scores(w))
    extra = f", P {args.prediction_window}" if method == "lstm" else ""
    print(f"{device:<5} {method:<11} train {train_rate:9,.0f} windows/s   score {score_rate:9,.0f} windows/s   "  # noqa: T201
          f"({len(windows):,} windows of {args.window} x {args.channels}, batch {detector.config.batch_size}{extra}, "
          f"torch CPU threads: {torch.get_num_threads()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--channels", type=int, default=38)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--prediction-window", type=int, default=10)
    parser.add_argument("--methods", nargs="+", default=["transformer", "lstm"], choices=["transformer", "lstm"])
    args = parse_args(parser, smoke={"windows": 128, "channels": 4, "epochs": 1, "prediction_window": 2})
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for method in args.methods:
            measure(device, args, method)


if __name__ == "__main__":
    main()
