"""The random-score control: uniform scores that ignore the data.

Its metrics show how much a metric rewards chance: point adjustment gives it F1 0.8-0.99 on the usual
benchmarks (peers.md §4), so every model is reported beside it. It is the ``random`` method, and the control the
evaluation stage scores beside every model (``RandomDetector.score_like``, seeded by ``evaluation.random_control``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tsad.core.frames import join_entities, split_entities
from tsad.core.score_frames import DEPARTED, DEPARTED_PREFIX, channel_score_columns
from tsad.models.base import Detector


class RandomDetector(Detector):
    """Scores drawn from U(0, 1), reproducible from the seed."""

    name = "random"  # only the shared options (DetectorConfig); ``seed`` fixes its scores

    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        self.history_ = {}

    def _score_windows(self, windows: np.ndarray) -> np.ndarray:
        """Uniform scores; the same seed and window count give the same scores."""
        return self.draw(len(windows))

    def draw(self, count: int, stream: Sequence[int] = (), channels: int | None = None) -> np.ndarray:
        """``count`` U(0, 1) scores, or (count, channels), from the generator seeded by ``(seed, *stream)``."""
        generator = np.random.default_rng([self.config.seed, *stream])
        return generator.random(count if channels is None else (count, channels))

    def score_like(self, scores: pd.DataFrame, split: int) -> pd.DataFrame:
        """The control's score frame on the timestamps (and labels) of a model's score frame.

        Each entity draws from its own generator, seeded by ``(seed, split, entity position)``, so the control is
        the same whatever else the run does. When the model's frame has per-channel columns, the control gets U(0, 1)
        per-channel columns too (from a generator of their own, so that ``score`` is drawn as without them); it
        keeps the model's evidence departures (``departed``) and labels.

        Args:
            scores: A model's score frame (``tsad.core.score_frames``).
            split: The split's number in the seed (the evaluation draws validation as 0 and test as 1).
        """
        columns = channel_score_columns(scores)
        parts = {}
        for position, (entity, part) in enumerate(split_entities(scores).items()):
            control = pd.DataFrame({"score": self.draw(len(part), (split, position))}, index=part.index)
            if columns:
                uniform = self.draw(len(part), (split, position, 1), len(columns))
                control = pd.concat([control, pd.DataFrame(uniform, index=part.index, columns=columns)], axis=1)
            # The evidence channels' departures flag the control's rows as the model's: the comparison is then
            # of the detectors alone.
            kept = [c for c in part.columns if c in (DEPARTED, "label") or str(c).startswith(DEPARTED_PREFIX)]
            parts[entity] = pd.concat([control, part[kept]], axis=1)
        return join_entities(parts)

    def _state_tensors(self) -> dict[str, Any]:
        return {}

    def _load_state_tensors(self, tensors: dict[str, Any]) -> None:
        return None
