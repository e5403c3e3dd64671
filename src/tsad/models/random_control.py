"""The random-score control: uniform scores that ignore the data.

Its metrics show how much a metric rewards chance: point adjustment gives it F1 0.8-0.99 on the usual
benchmarks (peers.md §4), so every model is reported beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tsad.models.base import Detector


class RandomDetector(Detector):
    """Scores drawn from U(0, 1), one per window, reproducible from the seed."""

    name = "random"  # only the shared options (DetectorConfig); ``seed`` fixes its scores

    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        self.history_ = {}

    def _score_windows(self, windows: np.ndarray) -> np.ndarray:
        """Uniform scores; the same seed and window count give the same scores."""
        return np.random.default_rng(self.config.seed).random(len(windows))

    def _state_tensors(self) -> dict[str, Any]:
        return {}

    def _load_state_tensors(self, tensors: dict[str, Any]) -> None:
        return None
