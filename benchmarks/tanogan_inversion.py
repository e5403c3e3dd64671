"""Benchmark: TAnoGAN's inverse mapping, batched against the notebook's one-window loop (not a test).

One TAnoGAN with the paper's sizes (G: LSTMs 32, 64, 128; D: LSTM 100; 50 inversion steps at 1e-2) is trained
briefly on a noisy sinusoid; then the same windows are inverted (a) one at a time, as the notebook does, and
(b) in batches (``inversion_batch_size`` windows at once, an independent latent per window). Both give the same
scores (checked: the largest difference is printed). Throughput is windows per second.

Compute efficiency: the inversion's FLOPs are counted analytically from the matrix products of the LSTMs and
linear layers (elementwise gate arithmetic is not counted). A forward pass of an LSTM layer with input size I and
hidden size H over L steps costs 2·L·4H·(I + H) FLOPs per window; the backward pass needs the gradients with
respect to z only (the parameters are frozen), i.e. the same products transposed, so it costs as much again. One
window's inversion is D(x) once, (steps - 1) forward-backward passes through G and D, and one last forward pass.
The achieved GFLOP/s are compared with torch's measured matrix-multiply throughput on this machine at the sizes
the LSTMs use ((B x H) by (H x 4H) recurrent products and (B·L x I) by (I x 4H) input projections), and at 1024^3.

Runs on the CPU, and on CUDA when torch sees a GPU (with a larger batch and, for the loop, fewer windows).

Usage: python benchmarks/tanogan_inversion.py [--window 60] [--channels 1] [--windows 512] [--loop-windows 16]
       [--batch-sizes 32 64 128 256] [--train-windows 1024] [--matmul-seconds 0.5] [--threads N] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from smoke import parse_args
from throughput import sync

from tsad.core.windows import sliding_windows
from tsad.models.tanogan import TanoganConfig, TanoganDetector


def lstm_flops(inputs: int, hidden: int, steps: int) -> int:
    """Forward FLOPs of one single-layer LSTM over ``steps`` steps, per window (matrix products only)."""
    return 2 * steps * 4 * hidden * (inputs + hidden)


def inversion_flops(detector: TanoganDetector) -> float:
    """FLOPs of one window's inversion (see the module docstring)."""
    c, steps, channels = detector.config, detector.window_, detector.n_channels_
    sizes = (channels, *c.generator_hidden)
    generator = sum(lstm_flops(i, o, steps) for i, o in zip(sizes[:-1], sizes[1:])) + 2 * steps * sizes[-1] * channels
    discriminator = lstm_flops(channels, c.discriminator_hidden, steps) + 2 * steps * c.discriminator_hidden
    forward = generator + discriminator
    return float(discriminator + (c.inversion_steps - 1) * 2 * forward + forward)


def matmul_gflops(m: int, k: int, n: int, device: str, seconds: float) -> float:
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    reps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(10):
            a @ b
        reps += 10
        sync(device)
    return 2.0 * m * k * n * reps / (time.perf_counter() - started) / 1e9


def trained_detector(args: argparse.Namespace, device: str) -> tuple[TanoganDetector, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(args.train_windows + args.windows + args.window + 64)
    phases = rng.uniform(0, 2 * np.pi, args.channels)
    series = 0.5 * np.sin(2 * np.pi * t[:, None] / 50 + phases) + 0.05 * rng.normal(size=(len(t), args.channels))
    windows = sliding_windows(series.astype(np.float32), args.window)
    config = TanoganConfig(device=device, epochs=1, progress=False)
    train = args.train_windows
    detector = TanoganDetector(config).fit(np.ascontiguousarray(windows[:train]), np.ascontiguousarray(windows[-64:]))
    return detector, np.ascontiguousarray(windows[train:train + args.windows])


def timed(function, device: str) -> tuple[float, object]:
    sync(device)
    started = time.perf_counter()
    out = function()
    sync(device)
    return time.perf_counter() - started, out


def measure(device: str, args: argparse.Namespace) -> None:
    detector, windows = trained_detector(args, device)
    x = torch.from_numpy(windows).to(device)
    loop_count = min(args.loop_windows, len(windows))
    detector.invert_batch(x[:1], [0])  # warm-up
    loop_seconds, loop_scores = timed(lambda: torch.stack([detector.invert_batch(x[j:j + 1], [j])[0]
                                                            for j in range(loop_count)]), device)
    loop_rate = loop_count / loop_seconds
    flops = inversion_flops(detector)
    threads = torch.get_num_threads()
    print(f"device {device}, {threads} CPU threads, load average {os.getloadavg()[0]:.1f}; windows of "  # noqa: T201
          f"{args.window} x {args.channels}; {detector.config.inversion_steps} inversion steps; "
          f"{flops / 1e9:.2f} GFLOP per window")
    print(f"  one window at a time: {loop_rate:8.2f} windows/s  ({loop_count} windows)")  # noqa: T201
    sizes = args.batch_sizes if device == "cpu" else [size * 64 for size in args.batch_sizes]
    best = (0.0, 0)
    for size in (min(s, len(windows)) for s in sizes):
        detector.invert_batch(x[:size], np.arange(size))  # warm-up at this size
        count = (len(windows) // size) * size
        seconds, scores = timed(lambda size=size, count=count: torch.cat(
            [detector.invert_batch(x[start:start + size], np.arange(start, start + size))
             for start in range(0, count, size)]), device)
        rate = count / seconds
        difference = float((scores[:loop_count] - loop_scores).abs().max())
        hidden = max(detector.config.generator_hidden)
        peak = max(matmul_gflops(size, hidden, 4 * hidden, device, args.matmul_seconds),
                   matmul_gflops(size * args.window, 64, 512, device, args.matmul_seconds))
        print(f"  batches of {size:5d}:    {rate:8.2f} windows/s = {rate / loop_rate:6.1f} x the loop; "  # noqa: T201
              f"{rate * flops / 1e9:6.1f} GFLOP/s = {rate * flops / 1e9 / peak:5.1%} of matmul at these sizes "
              f"({peak:.1f} GFLOP/s); max |batched - loop| {difference:.1e}")
        best = max(best, (rate, size))
    reference = matmul_gflops(1024, 1024, 1024, device, args.matmul_seconds)
    print(f"  best: batches of {best[1]}, {best[0] / loop_rate:.1f} x the loop, {best[0] * flops / 1e9:.1f} GFLOP/s "  # noqa: T201
          f"= {best[0] * flops / 1e9 / reference:.1%} of a 1024^3 matmul ({reference:.1f} GFLOP/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--windows", type=int, default=512, help="windows inverted in batches")
    parser.add_argument("--loop-windows", type=int, default=16, help="windows inverted one at a time")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--train-windows", type=int, default=1024, help="windows of the one training epoch")
    parser.add_argument("--matmul-seconds", type=float, default=0.5, help="time of each matmul throughput probe")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parse_args(parser, smoke={"window": 12, "windows": 32, "loop_windows": 2, "batch_sizes": [16],
                                     "train_windows": 64, "matmul_seconds": 0.05})
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    measure("cpu", args)
    if torch.cuda.is_available():
        gpu = argparse.Namespace(**{**vars(args), "windows": max(args.windows, 64 * max(args.batch_sizes)),
                                    "loop_windows": min(args.loop_windows, 8)})
        measure("cuda", gpu)
    else:
        print("no CUDA device: GPU figures not measured")  # noqa: T201


if __name__ == "__main__":
    main()
