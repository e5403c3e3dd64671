"""Benchmark: TMAN against DeepOD's USAD on one SMD machine, side by side in one process tree (not a test).

Both train and score the same min-max scaled windows (scaler fitted on the training half) of one SMD machine
from ../shared/data/SMD, with the same window, batch size and CPU thread count, each in its own child process
so that each child's peak RSS is its own. TMAN runs with the project's defaults
(TmanConfig) but for the window and batch size; USAD runs with DeepOD's defaults but for
the same. Training throughput counts windows seen per second over the timed epochs (each of the method's training
steps included: TMAN's two phases, USAD's two optimiser steps); scoring throughput counts test windows scored per
second, each method through its public scoring call.

DeepOD is not a project dependency (it pins an old torch); it goes into a scratch folder with --no-deps and uses
the project's torch:

    .venv/bin/pip install --no-deps --target /tmp/deepod deepod==0.4.1
    .venv/bin/python benchmarks/tman_vs_usad.py --deepod /tmp/deepod [--machine machine-1-2] [--threads 2]

``--smoke`` runs both at tiny sizes on a synthetic machine (no SMD files needed); without DeepOD it runs TMAN alone
and says that USAD was skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from smoke import parse_args
from torch.utils.data import DataLoader, TensorDataset

from tsad.core.windows import sliding_windows
from tsad.models import registry

ROOT = Path(__file__).resolve().parents[1]


def load_machine(smd_root: Path, machine: str) -> tuple[np.ndarray, np.ndarray]:
    """Training and test halves of one machine, min-max scaled with the training half's range (float32)."""
    train, test = (np.loadtxt(smd_root / split / f"{machine}.txt.gz", delimiter=",", dtype=np.float64)
                   for split in ("train", "test"))
    low, span = train.min(0), np.ptp(train, axis=0)
    span[span == 0] = 1.0
    return ((train - low) / span).astype(np.float32), ((test - low) / span).astype(np.float32)


def synthetic_machine(channels: int = 38, rows: int = 2_000) -> tuple[np.ndarray, np.ndarray]:
    """Training and test halves shaped like a scaled SMD machine: a seeded random walk in [0, 1] (float32)."""
    walk = np.cumsum(np.random.default_rng(0).normal(size=(2 * rows, channels)), axis=0)
    scaled = ((walk - walk.min(0)) / np.ptp(walk, axis=0)).astype(np.float32)
    return scaled[:rows], scaled[rows:]


def run_tman(train: np.ndarray, test: np.ndarray, args: argparse.Namespace) -> dict[str, float]:
    # The project's TMAN (TmanConfig's defaults, which tman.yml does not change) but for the shared settings.
    params = {"method": "tman", "batch_size": args.batch_size, "epochs": args.epochs, "device": "cpu",
              "threads": args.threads, "checkpoint_dir": None, "progress": False}
    detector = registry.build(params)
    windows = sliding_windows(train, args.window)[:args.train_windows]
    validation = windows[-256:]
    started = time.perf_counter()
    detector.fit(windows, validation)
    train_s = time.perf_counter() - started
    test_windows = sliding_windows(test, args.window)[:args.score_windows]
    started = time.perf_counter()
    detector.decision_function(test_windows)
    score_s = time.perf_counter() - started
    return {"method": f"TMAN ({detector.config.backbone})", "train_windows": len(windows), "train_s": train_s,
            "train_rate": args.epochs * len(windows) / train_s, "score_windows": len(test_windows),
            "score_rate": len(test_windows) / score_s, "threads": torch.get_num_threads()}


def run_usad(train: np.ndarray, test: np.ndarray, args: argparse.Namespace) -> dict[str, float]:
    from deepod.models.time_series.usad import USAD, UsadModel  # noqa: PLC0415 - optional, see the docstring
    from deepod.utils.utility import get_sub_seqs  # noqa: PLC0415 - optional, see the docstring

    torch.set_num_threads(args.threads)
    usad = USAD(seq_len=args.window, batch_size=args.batch_size, epochs=args.epochs, device="cpu", train_val_pc=0,
                verbose=0)
    # USAD.fit's own steps up to its training loop, without the scoring of the training data fit does after it.
    seqs = get_sub_seqs(train, seq_len=args.window)[:args.train_windows]
    started = time.perf_counter()
    usad.w_size = seqs.shape[1] * seqs.shape[2]
    usad.model = UsadModel(usad.w_size, seqs.shape[1] * usad.hidden_size).to(usad.device)
    loader = DataLoader(TensorDataset(torch.from_numpy(seqs).float().view(len(seqs), usad.w_size)),
                        batch_size=args.batch_size, shuffle=False)
    usad.training(loader, None)
    train_s = time.perf_counter() - started
    # decision_function windows its input itself: pass the rows that make exactly score_windows windows.
    rows = test[:args.score_windows + args.window - 1]
    started = time.perf_counter()
    usad.decision_function(rows)
    score_s = time.perf_counter() - started
    n_scored = len(rows) - args.window + 1
    return {"method": "DeepOD USAD", "train_windows": len(seqs), "train_s": train_s,
            "train_rate": args.epochs * len(seqs) / train_s, "score_windows": n_scored,
            "score_rate": n_scored / score_s, "threads": torch.get_num_threads()}


def child(args: argparse.Namespace) -> None:
    train, test = synthetic_machine() if args.smoke else load_machine(args.smd, args.machine)
    result = (run_tman if args.child == "tman" else run_usad)(train, test, args)
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB
    print(json.dumps(result))  # noqa: T201


def spawn(method: str, args: argparse.Namespace) -> dict[str, float]:
    env = dict(os.environ)
    if method == "usad":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.deepod), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--child", method, *sys.argv[1:]]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{method} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deepod", type=Path, help="folder DeepOD was installed into with pip --target")
    parser.add_argument("--smd", type=Path, default=ROOT.parent / "shared/data/SMD")
    parser.add_argument("--machine", default="machine-1-2")
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-windows", type=int, default=4000, help="first n training windows (speed)")
    parser.add_argument("--score-windows", type=int, default=8000, help="first n test windows")
    parser.add_argument("--child", choices=["tman", "usad"], help=argparse.SUPPRESS)
    args = parse_args(parser, smoke={"window": 12, "batch_size": 64, "threads": 1, "train_windows": 256,
                                     "score_windows": 256})
    if args.child:
        child(args)
        return
    has_deepod = args.deepod is not None and (args.deepod / "deepod").is_dir()
    if not has_deepod and not args.smoke:
        parser.error("--deepod: a folder holding DeepOD (pip install --no-deps --target DIR deepod==0.4.1)")
    results = [spawn(method, args) for method in ("tman", "usad")[:2 if has_deepod else 1]]
    data = "a synthetic machine" if args.smoke else f"SMD {args.machine}"
    print(f"{data}: window {args.window}, batch {args.batch_size}, {args.threads} CPU threads, "  # noqa: T201
          f"{args.epochs} epoch(s) on {results[0]['train_windows']:,} windows, {results[0]['score_windows']:,} scored")
    for r in results:
        print(f"{r['method']:<14} train {r['train_rate']:8,.0f} windows/s   score {r['score_rate']:8,.0f} windows/s   "  # noqa: T201
              f"peak RSS {r['peak_rss_gb']:.2f} GB")
    if not has_deepod:
        print("DeepOD USAD: skipped, DeepOD is not installed (--deepod DIR; see this script's docstring)")  # noqa: T201
        return
    tman, usad = results
    print(f"TMAN / USAD:   train {tman['train_rate'] / usad['train_rate']:.1f}x   "  # noqa: T201
          f"score {tman['score_rate'] / usad['score_rate']:.1f}x   "
          f"memory {usad['peak_rss_gb'] / tman['peak_rss_gb']:.1f}x less")


if __name__ == "__main__":
    main()
