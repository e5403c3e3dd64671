"""The contract every registered detector keeps (cf. sktime check_estimator, DeepOD tests)."""

import numpy as np
import pytest
import torch
from conftest import roc_auc_beside_random_control

from tsad.core.windows import WindowedSeries
from tsad.models import registry


@pytest.fixture
def windows(train_frame, test_frame):
    return (WindowedSeries.from_frame(train_frame.drop(columns="label"), 16),
            WindowedSeries.from_frame(test_frame, 16))


@pytest.mark.parametrize("method", registry.available())
def test_contract(method, windows, tmp_path):
    train, test = windows
    cls = registry.get(method)
    detector = cls(cls.test_config()).fit(train.windows)
    scores = detector.decision_function(test.windows)
    assert scores.shape == (len(test.windows),) and scores.dtype == np.float64 and np.isfinite(scores).all()
    again = cls(cls.test_config()).fit(train.windows).decision_function(test.windows)
    np.testing.assert_array_equal(scores, again)  # same seed, same scores
    path = tmp_path / "detector.pt"
    torch.save(detector.state(), path)
    restored = registry.from_state(torch.load(path, weights_only=True))
    np.testing.assert_allclose(restored.decision_function(test.windows), scores, rtol=1e-6)


@pytest.mark.parametrize("method", registry.available())
def test_refuses_windows_of_another_shape(method, windows):
    train, _ = windows
    cls = registry.get(method)
    detector = cls(cls.test_config()).fit(train.windows)
    with pytest.raises(ValueError, match="fitted on"):
        detector.decision_function(np.zeros((4, 8, 5), dtype=np.float32))


def test_unknown_method_and_parameter():
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        registry.get("nope")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['n_componets'\]"):
        registry.build({"method": "pca", "n_componets": 3})


def test_pca_beats_the_random_control_on_injected_anomalies(train_frame, test_frame):
    pca_auc, rand_auc = roc_auc_beside_random_control({"method": "pca", "n_components": 0.95, "device": "cpu"},
                                                      train_frame, test_frame)
    assert pca_auc > 0.8 and pca_auc > rand_auc + 0.25


def test_pca_component_count():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(3000, 2))
    series = (latent @ rng.normal(size=(2, 6)) + 0.01 * rng.normal(size=(3000, 6))).astype(np.float32)
    windows = WindowedSeries.from_frame(__import__("pandas").DataFrame(series), 1).windows
    detector = registry.build({"method": "pca", "n_components": 0.99, "device": "cpu"}).fit(windows)
    assert detector.history_["n_components"] == [2.0]


def test_a_declared_view_must_exist(windows):
    train, _ = windows
    pca = registry.get("pca")

    class Cosines(pca):
        views = ("cosine", "spectrum")

    with pytest.raises(ValueError, match=r"unknown view\(s\) \['spectrum'\]; known: \['cosine'\]"):
        Cosines(pca.test_config()).fit(train.windows)
    Cosines.views = ("cosine",)
    views = Cosines(pca.test_config()).window_views(train.windows[:3])
    assert views["values"] is not None and views["cosine"].shape == (3, train.windows.shape[2], train.windows.shape[2])
