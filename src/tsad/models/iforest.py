"""Isolation Forest (Liu, Ting and Zhou, ICDM 2008) on flattened windows, fitted by scikit-learn.

scikit-learn grows the trees; their arrays (children, split features and thresholds, and each node's path-length
contribution) are kept as tensors, so that the checkpoint is a plain dict loadable with ``weights_only=True`` and
scoring walks every tree for a batch at once (one gather per level). The score is scikit-learn's
``-score_samples``, 2^(−E[h(x)] / c(ψ)) (eq. 2 of the paper): higher is more anomalous.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from sklearn.ensemble import IsolationForest

from tsad.models.base import Detector, DetectorConfig
from tsad.models.knn import evenly_spaced


@dataclasses.dataclass
class IforestConfig(DetectorConfig):
    """Isolation Forest options (scikit-learn's names and defaults).

    Attributes:
        n_estimators: Trees.
        max_samples: Windows each tree is grown on (ψ; 256 in the paper).
        max_features: Share of the window's values each tree may split on.
        fit_windows: Most training windows handed to scikit-learn, evenly spaced (None: all); each tree samples
            ``max_samples`` of them, so this only bounds the memory of the flattened copy.
    """

    n_estimators: int = 100
    max_samples: int = 256
    max_features: float = 1.0
    fit_windows: int | None = 100_000


class IforestDetector(Detector):
    """Mean isolation depth of flattened windows, as scikit-learn's anomaly score."""

    name = "iforest"
    config_class = IforestConfig

    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        keep = evenly_spaced(len(windows_train), self.config.fit_windows)
        flat = np.ascontiguousarray(windows_train[keep], dtype=np.float32).reshape(len(keep), -1)
        forest = IsolationForest(n_estimators=self.config.n_estimators, max_samples=min(self.config.max_samples,
                                                                                       len(flat)),
                                 max_features=self.config.max_features, random_state=self.config.seed).fit(flat)
        trees = [estimator.tree_ for estimator in forest.estimators_]
        width = max(tree.node_count for tree in trees)

        def padded(values: list[np.ndarray], fill: float, dtype: Any) -> torch.Tensor:
            out = np.full((len(values), width), fill, dtype=dtype)
            for i, row in enumerate(values):
                out[i, :len(row)] = row
            return torch.from_numpy(out)

        # Split features of a tree grown on a feature subset point back at the window's own values.
        features = [np.asarray(used)[np.maximum(tree.feature, 0)] for tree, used in
                    zip(trees, forest.estimators_features_, strict=True)]
        # A leaf's contribution: its depth (root = 1) + c(n_leaf) - 1, as scikit-learn adds them up.
        leaf = [node_depths(t.children_left, t.children_right) + average_path_length(t.n_node_samples) - 1.0
                for t in trees]
        self.left_ = padded([t.children_left for t in trees], -1, np.int64).to(self.device_)
        self.right_ = padded([t.children_right for t in trees], -1, np.int64).to(self.device_)
        self.feature_ = padded(features, 0, np.int64).to(self.device_)
        self.threshold_ = padded([t.threshold for t in trees], 0.0, np.float64).to(self.device_)
        self.leaf_ = padded(leaf, 0.0, np.float64).to(self.device_)
        self.normaliser_ = torch.tensor([len(trees) * float(average_path_length(np.array([forest.max_samples_]))[0])],
                                        dtype=torch.float64, device=self.device_)
        self.history_ = {"fit_windows": [float(len(keep))], "max_depth": [float(max(t.max_depth for t in trees))]}

    def _score_batch(self, batch: Any) -> Any:
        values = batch.reshape(len(batch), -1).double()  # scikit-learn compares float32 values with float64 splits
        n_trees, width = self.left_.shape
        offsets = torch.arange(n_trees, device=values.device) * width
        node = torch.zeros((len(values), n_trees), dtype=torch.long, device=values.device)
        left, right = self.left_.reshape(-1), self.right_.reshape(-1)
        feature, threshold = self.feature_.reshape(-1), self.threshold_.reshape(-1)
        while True:
            flat = node + offsets
            inner = left[flat] >= 0
            if not bool(inner.any()):
                break
            goes_left = values.gather(1, feature[flat]) <= threshold[flat]
            node = torch.where(inner, torch.where(goes_left, left[flat], right[flat]), node)
        depth = self.leaf_.reshape(-1)[node + offsets].sum(1)
        return torch.pow(2.0, -depth / self.normaliser_)

    def _state_tensors(self) -> dict[str, Any]:
        return {"left": self.left_.cpu(), "right": self.right_.cpu(), "feature": self.feature_.cpu(),
                "threshold": self.threshold_.cpu(), "leaf": self.leaf_.cpu(), "normaliser": self.normaliser_.cpu()}

    def _load_state_tensors(self, tensors: dict[str, Any]) -> None:
        self.left_, self.right_, self.feature_ = tensors["left"], tensors["right"], tensors["feature"]
        self.threshold_, self.leaf_, self.normaliser_ = tensors["threshold"], tensors["leaf"], tensors["normaliser"]


def average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n), the average path length of an unsuccessful search in a binary search tree of n nodes (eq. 1)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.where(n == 2, 1.0, 0.0)
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def node_depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Each node's depth, the root's being 1, level by level."""
    depth = np.zeros(len(left))
    level, frontier = 1, np.array([0])
    while len(frontier):
        depth[frontier] = level
        children = np.concatenate([left[frontier], right[frontier]])
        frontier, level = children[children >= 0], level + 1
    return depth
