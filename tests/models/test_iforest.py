"""Isolation Forest: scikit-learn's scores from the trees kept as tensors, and above the random control."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import roc_auc_beside_random_control
from sklearn.ensemble import IsolationForest

from tsad.models.iforest import IforestConfig, IforestDetector, average_path_length, node_depths


@pytest.mark.parametrize("max_features", [1.0, 0.6])
def test_scores_are_scikit_learns(max_features):
    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(2000, 5, 3)).astype(np.float32), 1.5 * rng.normal(size=(300, 5, 3))
    test = test.astype(np.float32)
    config = IforestConfig(method="iforest", device="cpu", seed=4, max_features=max_features, n_estimators=50)
    scores = IforestDetector(config).fit(train).decision_function(test)
    forest = IsolationForest(n_estimators=50, random_state=4, max_features=max_features).fit(train.reshape(2000, -1))
    np.testing.assert_allclose(scores, -forest.score_samples(test.reshape(300, -1)), rtol=1e-12)


def test_path_lengths():
    np.testing.assert_allclose(average_path_length(np.array([1, 2, 256])), [0.0, 1.0, 10.244770920116851])
    # a root with a leaf on the left and an inner node with two leaves on the right
    left, right = np.array([1, -1, 3, -1, -1]), np.array([2, -1, 4, -1, -1])
    assert node_depths(left, right).tolist() == [1, 2, 2, 3, 3]


def test_iforest_beats_the_random_control_on_injected_anomalies(train_frame, test_frame):
    forest_auc, control_auc = roc_auc_beside_random_control({"method": "iforest", "device": "cpu"}, train_frame,
                                                            test_frame)
    assert forest_auc > control_auc + 0.15
