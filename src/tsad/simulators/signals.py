"""Signal shapes the plant simulators share: slow drifts, idle meters, process lags and transport delays."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def ou_drift(rng: np.random.Generator, n: int, std: float, tau_s: float) -> np.ndarray:
    """Stationary Ornstein-Uhlenbeck drift with the given std and time constant, sampled each second."""
    phi = math.exp(-1.0 / tau_s)
    alpha = 1.0 - phi
    shocks = rng.standard_normal(n)
    shocks[0] *= std  # start in the stationary distribution
    shocks[1:] *= std * math.sqrt(1.0 - phi * phi) / alpha  # ewm scales the input by alpha
    return pd.Series(shocks).ewm(alpha=alpha, adjust=False).mean().to_numpy()


def idle_flow(rng: np.random.Generator, n: int, std: float, offset: float) -> np.ndarray:
    """Reading of a flow meter on a stopped line: a small positive offset and noise."""
    return offset + np.abs(rng.normal(0.0, std, n))


def first_order_lag(signal: np.ndarray, tau_s: float) -> np.ndarray:
    """First-order response (time constant ``tau_s``) of a process to ``signal``."""
    alpha = 1.0 - math.exp(-1.0 / tau_s)
    return pd.Series(np.asarray(signal, dtype=np.float64)).ewm(alpha=alpha, adjust=False).mean().to_numpy()


def transport_delay(signal: np.ndarray, seconds: int) -> np.ndarray:
    """``signal`` transported ``seconds`` downstream (the first value fills the start)."""
    signal = np.asarray(signal, dtype=np.float64)
    if seconds >= len(signal):
        return np.full(len(signal), signal[0])
    return np.concatenate([np.full(seconds, signal[0]), signal[:-seconds]])
