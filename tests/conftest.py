"""Shared fixtures: small synthetic multivariate series with injected anomalies (no test reads data/)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def synthetic_series(n: int = 2000, channels: int = 5, seed: int = 0, anomalies: bool = True,
                     start: str = "2021-01-01") -> pd.DataFrame:
    """Coupled sinusoids plus noise; with ``anomalies``, spikes and a level shift that break the coupling.

    Returns a typed frame: timestamp index at 1 s, float32 channels ``c0..``, int8 ``label``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi, channels)
    base = np.sin(2 * np.pi * t[:, None] / 50 + phase[None, :])
    values = base + 0.05 * rng.normal(size=(n, channels))
    labels = np.zeros(n, dtype=np.int8)
    if anomalies:
        for start_row, length, channel, size in ((n // 5, 20, 0, 2.5), (n // 2, 60, 2, 1.5), (4 * n // 5, 15, 4, -3.0)):
            values[start_row:start_row + length, channel % channels] += size
            labels[start_row:start_row + length] = 1
    frame = pd.DataFrame(values.astype(np.float32), columns=[f"c{i}" for i in range(channels)],
                         index=pd.date_range(start, periods=n, freq="s", name="timestamp"))
    frame["label"] = labels
    return frame


@pytest.fixture
def train_frame() -> pd.DataFrame:
    return synthetic_series(2000, seed=1, anomalies=False)


@pytest.fixture
def test_frame() -> pd.DataFrame:
    return synthetic_series(2000, seed=2, anomalies=True, start="2021-01-02")


@pytest.fixture
def make_series():
    """The ``synthetic_series`` factory, for tests that need more series than the two fixtures."""
    return synthetic_series
