"""PCA reconstruction error: the strongest simple baseline in the literature (peers.md §0, targets.md).

Each window is flattened to a W*C vector; the score is the mean squared residual after projecting the
centred vector onto the principal subspace of the training windows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from tsad.models.base import Detector, DetectorConfig


@dataclasses.dataclass
class PcaConfig(DetectorConfig):
    """PCA options.

    Attributes:
        n_components: Components kept: a fraction in (0, 1) of explained variance, or a count >= 1.
    """

    n_components: float = 0.95


class PcaDetector(Detector):
    """Principal component reconstruction error on flattened windows."""

    name = "pca"
    config_class = PcaConfig

    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        dim = self.window_ * self.n_channels_
        # Centre on the first batch's mean before accumulating X^T X, so float32 products stay accurate.
        step = self.config.score_batch_size
        shift = torch.from_numpy(np.ascontiguousarray(windows_train[:step], dtype=np.float32)).reshape(-1, dim)
        shift = shift.mean(0).to(self.device_)
        total = torch.zeros(dim, dtype=torch.float64, device=self.device_)
        gram = torch.zeros(dim, dim, dtype=torch.float64, device=self.device_)
        for start in range(0, len(windows_train), step):
            batch = torch.from_numpy(np.ascontiguousarray(windows_train[start:start + step], dtype=np.float32))
            batch = batch.to(self.device_).reshape(-1, dim) - shift
            total += batch.sum(0, dtype=torch.float64)
            gram += (batch.T @ batch).double()
        count = len(windows_train)
        mean = total / count
        covariance = (gram - count * torch.outer(mean, mean)) / max(count - 1, 1)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
        eigenvalues, eigenvectors = eigenvalues.flip(0).clamp_min(0), eigenvectors.flip(1)
        k = self._n_kept(eigenvalues)
        self.mean_ = (mean + shift.double()).float()
        self.components_ = eigenvectors[:, :k].float().contiguous()
        explained = eigenvalues / eigenvalues.sum().clamp_min(1e-300)
        self.history_ = {"explained_variance_ratio": [float(x) for x in explained[:k].cpu()],
                         "n_components": [float(k)]}

    def _n_kept(self, eigenvalues: Any) -> int:
        wanted = self.config.n_components
        if wanted >= 1:
            return int(min(wanted, len(eigenvalues)))
        if not 0 < wanted < 1:
            raise ValueError(f"n_components must be a fraction in (0, 1) or a count >= 1, got {wanted}")
        share = (eigenvalues.cumsum(0) / eigenvalues.sum().clamp_min(1e-300)).cpu().numpy()
        return int(min(np.searchsorted(share, wanted) + 1, len(share)))

    def _score_batch(self, batch: Any) -> Any:
        centred = batch.reshape(len(batch), -1) - self.mean_
        residual = centred - (centred @ self.components_) @ self.components_.T
        return residual.square().mean(1)

    def _state_tensors(self) -> dict[str, Any]:
        return {"mean": self.mean_.cpu(), "components": self.components_.cpu()}

    def _load_state_tensors(self, tensors: dict[str, Any]) -> None:
        self.mean_, self.components_ = tensors["mean"], tensors["components"]
