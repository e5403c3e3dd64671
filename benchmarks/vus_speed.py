"""Benchmark: VUS-ROC / VUS-PR time of tsad.core.metrics.vus against the reference implementation (not a test).

The reference is TSB-AD 1.5's ``generate_curve(..., version="opt", thre=250)`` (the ``vus`` package gives the same
values to the last bit, ../shared/docs/stack.md §12). TSB-AD declares numpy<2 but runs on numpy 2, so it is not a
project dependency; get it with either

    make setup                                                   # into .venv/test-references
    .venv/bin/pip install --no-deps --target /tmp/vus-ref tsb-ad==1.5  # then: --reference-path /tmp/vus-ref

Without it, only tsad's timings are printed. The probe: ``--points`` labels (default 1,000,000) with anomaly
segments of 200-800 points (~3 %), scores uniform in [0, 1) plus a uniform bump of up to 0.5 inside anomalies,
seeded. Target (issue #5): at least 10 times faster than the reference, equal within 1e-6; the exit code is 1 when
the reference ran and either fails.

A smoke run (``--smoke``: 20,000 points) checks the equality only: its times say nothing about speed.

Usage: python benchmarks/vus_speed.py [--points 1000000] [--window 100] [--seed 0] [--reference-path DIR] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from smoke import parse_args

from tsad.core.metrics import vus


def probe(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int64)
    for start in rng.choice(max(n - 1000, 1), size=max(1, n // 20_000), replace=False):
        labels[start:start + int(rng.integers(200, 800))] = 1
    return labels, rng.random(n) + 0.5 * labels * rng.random(n)


def reference_vus(reference_path: Path | None):
    """TSB-AD's VUS as a function (labels, scores, window) -> (roc, pr), or None when it is not installed."""
    for path in (reference_path, Path(sys.prefix) / "test-references"):
        if path is not None and path.is_dir() and str(path) not in sys.path:
            sys.path.append(str(path))
    try:
        from TSB_AD.evaluation.basic_metrics import generate_curve  # noqa: PLC0415 - optional reference
    except ImportError:
        return None

    def run(labels: np.ndarray, scores: np.ndarray, window: int) -> tuple[float, float]:
        *_, vus_roc, vus_pr = generate_curve(labels, scores, window, "opt", 250)
        return float(vus_roc), float(vus_pr)

    return run


def timed(function, *args) -> tuple[tuple[float, float], float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-path", type=Path, help="folder holding TSB_AD (pip install --target)")
    args = parse_args(parser, smoke={"points": 20_000, "window": 20})

    labels, scores = probe(args.points, args.seed)
    print(f"probe: {args.points:,} points, {labels.mean():.2%} anomalous, window {args.window}, "  # noqa: T201
          f"250 thresholds, seed {args.seed}")
    vus(labels[:1000], scores[:1000], args.window)  # warm-up (imports, page faults)
    ours, ours_s = timed(vus, labels, scores, args.window)
    print(f"tsad      VUS-ROC {ours[0]:.16f}  VUS-PR {ours[1]:.16f}  {ours_s:8.3f} s")  # noqa: T201
    reference = reference_vus(args.reference_path)
    if reference is None:
        print("reference: TSB-AD is not installed; see this script's docstring to get it (skipped)")  # noqa: T201
        return 0
    theirs, theirs_s = timed(reference, labels, scores, args.window)
    difference = max(abs(ours[0] - theirs[0]), abs(ours[1] - theirs[1]))
    speedup = theirs_s / ours_s
    print(f"TSB-AD    VUS-ROC {theirs[0]:.16f}  VUS-PR {theirs[1]:.16f}  {theirs_s:8.3f} s")  # noqa: T201
    print(f"speed-up {speedup:.1f}x (target >= 10), largest difference {difference:.2e} (target <= 1e-6)")  # noqa: T201
    return 0 if (speedup >= 10 or args.smoke) and difference <= 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
