"""Benchmark: MGAN training and scoring throughput in windows per second (not a test).

Two shapes: ours on the simulated SWaT plant (windows of 12 over the 40 channels left after cleaning, every row)
and the paper's (windows of 100 over SWaT's 51 channels). The adversarial stage is timed on its own (each window
takes ``critic_steps`` critic steps with the gradient penalty's double backward, then one step of both
generators), then the encoder stage (generators frozen) and scoring (both reconstructions and the critic, with the
cosine matrices computed per batch). Runs on the CPU, and on CUDA when torch sees a GPU.

Usage: python benchmarks/mgan_throughput.py [--windows 4096] [--batch-size 64] [--smoke]
"""

from __future__ import annotations

import argparse
import time

import torch
from smoke import parse_args
from throughput import smooth_windows, sync

from tsad.models import registry

SHAPES = {"ours (SWaT sim)": (12, 40), "paper (SWaT)": (100, 51)}


def measure(device: str, label: str, window: int, channels: int, args: argparse.Namespace) -> None:
    windows = smooth_windows(args.windows, window, channels)
    detector = registry.build({"method": "mgan", "device": device, "batch_size": args.batch_size, "progress": False,
                               "epochs": 3, "encoder_epochs": 1})
    seconds = []  # per epoch: a warm-up adversarial epoch, a timed one, an encoder one
    run_epoch = detector._run_epoch

    def timed_epoch(*epoch_args):
        started = time.perf_counter()
        out = run_epoch(*epoch_args)
        sync(device)
        seconds.append(time.perf_counter() - started)
        return out

    detector._run_epoch = timed_epoch
    detector.fit(windows)
    detector.decision_function(windows[:512])  # warm-up
    started = time.perf_counter()
    detector.decision_function(windows)
    sync(device)
    score_s = time.perf_counter() - started
    n = len(windows)
    print(f"{device:<5} {label:<16} gan {n / seconds[1]:9,.0f} windows/s   encoders {n / seconds[2]:9,.0f} windows/s   "  # noqa: T201
          f"score {n / score_s:9,.0f} windows/s   ({n:,} windows of {window} x {channels}, batch "
          f"{args.batch_size}, {torch.get_num_threads()} CPU threads)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parse_args(parser, smoke={"windows": 128})
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for label, (window, channels) in SHAPES.items():
            measure(device, label, window, channels, args)


if __name__ == "__main__":
    main()
