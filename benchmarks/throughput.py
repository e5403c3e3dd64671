"""Shared by the throughput benchmarks (tman_throughput.py, predictor_throughput.py): the windows they time and
the timing itself. Not a benchmark on its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from tsad.core.windows import sliding_windows
from tsad.models import registry


def smooth_windows(n_windows: int, window: int, channels: int) -> np.ndarray:
    """``n_windows`` stride-1 windows (a view) of a min-max scaled random walk, seeded."""
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=(n_windows + window, channels)), axis=0)
    series = ((series - series.min(0)) / np.ptp(series, axis=0)).astype(np.float32)
    return sliding_windows(series, window)[:n_windows]


def fit_and_score_rates(config: dict[str, Any], windows: np.ndarray,
                        score: Callable[[Any, np.ndarray], object]) -> tuple[Any, float, float]:
    """The detector built from ``config``, its training throughput (windows seen per second over
    ``config["epochs"]`` epochs) and its scoring throughput (``score(detector, windows)``, after a warm-up)."""
    detector = registry.build(config)
    started = time.perf_counter()
    detector.fit(windows, windows[:256])
    sync(config["device"])
    train_rate = config["epochs"] * len(windows) / (time.perf_counter() - started)
    score(detector, windows[:1024])  # warm-up
    started = time.perf_counter()
    score(detector, windows)
    sync(config["device"])
    return detector, train_rate, len(windows) / (time.perf_counter() - started)


def sync(device: str) -> None:
    """Wait for queued CUDA work, so that a timer reads the work itself."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
