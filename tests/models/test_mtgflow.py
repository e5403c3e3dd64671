"""MTGFlow: detection of a broken coupling, the per-window attention graph and the entity-aware base."""

import numpy as np
import pytest
import torch
from conftest import decoupled_sensors, roc_auc_beside_random_control

from tsad.core.windows import WindowedSeries
from tsad.models import registry


def config(**options):
    return {"method": "mtgflow", "device": "cpu", "epochs": 8, "batch_size": 64, "hidden_size": 16,
            "learning_rate": 0.005, "progress": False, "seed": 0} | options


@pytest.fixture(scope="module")
def fitted():
    train = WindowedSeries.from_frame(decoupled_sensors(800, seed=0, anomalies=False).drop(columns="label"), 12)
    return registry.build(config(epochs=2)).fit(train.windows), train.windows


def test_mtgflow_without_self_loops_sees_two_sensors_decouple():
    # With its graph's diagonal (the original), each value partly conditions on itself: c1 stays self-consistent
    # in the anomalies, and that is hardly seen (ROC-AUC about 0.65 here); without it, c1 is read from c0.
    ours, chance = roc_auc_beside_random_control(config(exclude_self=True), decoupled_sensors(2000, seed=0,
                                                 anomalies=False), decoupled_sensors(1500, seed=1))
    assert ours > 0.9 and ours > chance + 0.3, (ours, chance)


def test_window_graphs_are_per_window_column_stochastic_and_without_dropout(fitted):
    detector, windows = fitted
    graphs = detector.window_graphs(windows[:50])
    assert graphs.shape == (50, 3, 3)
    np.testing.assert_allclose(graphs.sum(axis=1), 1.0, atol=1e-6)  # softmax over the source sensor
    assert not np.allclose(graphs[0], graphs[25])  # one graph per window
    np.testing.assert_array_equal(graphs, detector.window_graphs(windows[:50]))  # eval mode: no dropout
    attention = detector.modules_["mtgflow"].attention
    series = torch.from_numpy(np.ascontiguousarray(windows[:5])).transpose(1, 2)
    with torch.no_grad():
        expected = torch.softmax(attention.w_q(series) @ attention.w_k(series).transpose(1, 2) / np.sqrt(12), dim=1)
    np.testing.assert_allclose(graphs[:5], expected.double().numpy(), atol=1e-6)


def test_entity_means_are_drawn_once_from_the_seed_and_checkpointed(fitted, tmp_path):
    detector, windows = fitted
    means = detector.modules_["mtgflow"].flow.base_means
    assert means.shape == (3,) and torch.equal(means, torch.randn(3, generator=torch.Generator().manual_seed(0)))
    torch.save(detector.state(), tmp_path / "detector.pt")
    restored = registry.from_state(torch.load(tmp_path / "detector.pt", weights_only=True))
    assert torch.equal(restored.modules_["mtgflow"].flow.base_means, means)
    plain = registry.build(config(epochs=1, entity_aware=False)).fit(windows)
    assert not plain.modules_["mtgflow"].flow.base_means.any()


def test_self_loops_can_be_left_out(fitted):
    _, windows = fitted
    detector = registry.build(config(epochs=1, exclude_self=True)).fit(windows)
    graphs = detector.window_graphs(windows[:10])
    np.testing.assert_allclose(np.diagonal(graphs, axis1=1, axis2=2), 0.0)
    np.testing.assert_allclose(graphs.sum(axis=1), 1.0, atol=1e-6)
