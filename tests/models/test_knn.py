"""kNN distance: exact against brute force, bounded memory on long series, and above the random control."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import roc_auc_beside_random_control

from tsad.models.knn import KnnConfig, KnnDetector, evenly_spaced


def brute_force(train: np.ndarray, test: np.ndarray, k: int) -> np.ndarray:
    flat_train, flat_test = train.reshape(len(train), -1).astype(np.float64), test.reshape(len(test), -1)
    distances = np.sqrt(((flat_test[:, None, :] - flat_train[None, :, :]) ** 2).sum(-1))
    return np.sort(distances, axis=1)[:, k - 1]


@pytest.mark.parametrize("k", [1, 3])
def test_scores_are_the_exact_kth_neighbour_distances(k):
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(900, 6, 4)).astype(np.float32), rng.normal(size=(200, 6, 4)).astype(np.float32)
    test[:5] = train[:5]  # windows seen in training: distance 0 to the nearest, exactly
    detector = KnnDetector(KnnConfig(method="knn", device="cpu", k=k, train_chunk=250, score_batch_size=64))
    scores = detector.fit(train).decision_function(test)
    np.testing.assert_allclose(scores, brute_force(train, test, k), rtol=1e-5, atol=1e-6)
    if k == 1:
        assert (scores[:5] == 0).all()


def test_fit_windows_bounds_the_neighbours_kept():
    assert evenly_spaced(10, None).tolist() == list(range(10))
    assert evenly_spaced(10, 4).tolist() == [0, 3, 6, 9]
    detector = KnnDetector(KnnConfig(method="knn", device="cpu", fit_windows=100))
    detector.fit(np.zeros((1000, 4, 2), np.float32))
    assert detector.train_.shape == (100, 8)


def test_knn_beats_the_random_control_on_injected_anomalies(train_frame, test_frame):
    knn_auc, control_auc = roc_auc_beside_random_control({"method": "knn", "device": "cpu"}, train_frame, test_frame)
    assert knn_auc > 0.8 and knn_auc > control_auc + 0.25


def test_k_is_checked():
    with pytest.raises(ValueError, match="k must be >= 1"):
        KnnConfig(k=0)
