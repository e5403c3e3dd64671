"""k-nearest-neighbour distance: a window's Euclidean distance to its k-th nearest training window.

One of the simple baselines tsad's methods must beat (../shared/docs/targets.md: 1-NN is the strongest on SMD,
MSL and NAB). Exact and batched: the distances of a batch of windows to a chunk of training windows are one
matrix product (‖a‖² + ‖b‖² − 2a·b, on centred windows), the k smallest are kept across chunks, and the
distances of the neighbours found are then recomputed directly, so that the matrix product's cancellation does
not reach the scores.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from tsad.models.base import Detector, DetectorConfig


@dataclasses.dataclass
class KnnConfig(DetectorConfig):
    """kNN options.

    Attributes:
        k: The neighbour whose distance is the score (1: the nearest).
        fit_windows: Most training windows kept as neighbours, evenly spaced over the training series (None:
            all); bounds memory on long series (100,000 windows of 12 x 51 take 245 MB).
        train_chunk: Training windows per distance block (memory: ``score_batch_size`` x ``train_chunk`` floats).
    """

    k: int = 1
    fit_windows: int | None = 100_000
    train_chunk: int = 8192
    score_batch_size: int = 512

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"knn: k must be >= 1, got {self.k}")
        if self.fit_windows is not None and self.fit_windows < 1:
            raise ValueError(f"knn: fit_windows must be >= 1 or null, got {self.fit_windows}")


class KnnDetector(Detector):
    """Distance to the k-th nearest training window (flattened)."""

    name = "knn"
    config_class = KnnConfig

    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        keep = evenly_spaced(len(windows_train), self.config.fit_windows)
        if len(keep) < self.config.k:
            raise ValueError(f"knn: k = {self.config.k} but only {len(keep)} training windows")
        flat = torch.from_numpy(np.ascontiguousarray(windows_train[keep], dtype=np.float32)).reshape(len(keep), -1)
        self.mean_ = flat.mean(0).to(self.device_)
        self.train_ = (flat.to(self.device_) - self.mean_).contiguous()
        self.train_norms_ = self.train_.square().sum(1)
        self.history_ = {"fit_windows": [float(len(keep))]}

    def _score_batch(self, batch: Any) -> Any:
        k = self.config.k
        queries = batch.reshape(len(batch), -1) - self.mean_
        query_norms = queries.square().sum(1, keepdim=True)
        best = torch.full((len(batch), k), torch.inf, device=queries.device)
        best_index = torch.zeros((len(batch), k), dtype=torch.long, device=queries.device)
        for start in range(0, len(self.train_), self.config.train_chunk):
            chunk = self.train_[start:start + self.config.train_chunk]
            squared = query_norms + self.train_norms_[start:start + len(chunk)] - 2.0 * queries @ chunk.T
            values, index = torch.topk(squared, min(k, len(chunk)), dim=1, largest=False)
            best, order = torch.topk(torch.cat([best, values], 1), k, dim=1, largest=False)
            best_index = torch.cat([best_index, index + start], 1).gather(1, order)
        # The neighbours' exact distances (the product above loses digits when a window is close to one trained on).
        exact = (queries[:, None, :] - self.train_[best_index]).square().sum(2)
        return exact.sort(1).values[:, k - 1].sqrt()

    def _state_tensors(self) -> dict[str, Any]:
        return {"mean": self.mean_.cpu(), "train": self.train_.cpu()}

    def _load_state_tensors(self, tensors: dict[str, Any]) -> None:
        self.mean_, self.train_ = tensors["mean"], tensors["train"]
        self.train_norms_ = self.train_.square().sum(1)


def evenly_spaced(count: int, limit: int | None) -> np.ndarray:
    """Indices of at most ``limit`` of ``count`` items, evenly spaced (all of them when ``limit`` is None)."""
    if limit is None or count <= limit:
        return np.arange(count)
    return np.linspace(0, count - 1, limit).round().astype(np.int64)
