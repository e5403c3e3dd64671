"""GANF: detection of a broken coupling, the learned graph (clamped, acyclic, an artifact) and the augmented
Lagrangian's epoch-by-epoch updates."""

import numpy as np
import pytest
from conftest import decoupled_sensors, roc_auc_beside_random_control

from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.ganf import GanfDetector, Lagrangian


def config(**options):
    return {"method": "ganf", "device": "cpu", "epochs": 8, "batch_size": 64, "hidden_size": 16,
            "learning_rate": 0.005, "progress": False, "seed": 0} | options


@pytest.fixture(scope="module")
def fitted():
    train = WindowedSeries.from_frame(decoupled_sensors(1000, seed=0, anomalies=False).drop(columns="label"), 12)
    return registry.build(config()).fit(train.windows), train.windows


def test_ganf_sees_two_sensors_decouple():
    ours, chance = roc_auc_beside_random_control(config(), decoupled_sensors(2000, seed=0, anomalies=False),
                                                 decoupled_sensors(1500, seed=1))
    assert ours > 0.9 and ours > chance + 0.3, (ours, chance)


def test_the_graph_is_clamped_nearly_acyclic_and_an_artifact(fitted):
    detector, windows = fitted
    graph = detector.modules_["ganf"].graph.detach().numpy()
    assert graph.min() >= 0 and graph.max() <= 1
    assert detector.history_["train_dag_h"][-1] < detector.history_["train_dag_h"][0]
    table = detector.artifacts()["graph"]
    assert table.shape == (3, 3) and list(table.columns) == ["0", "1", "2"]
    np.testing.assert_allclose(table.to_numpy(), graph)
    np.testing.assert_allclose(detector.window_graphs(windows[:4]), np.broadcast_to(graph, (4, 3, 3)))
    # The coupled pair carries the largest weight, in one direction (a DAG keeps one of the two).
    assert max(graph[0, 1], graph[1, 0]) == graph.max()


def test_the_lagrangian_follows_the_original_loop():
    detector = GanfDetector(GanfDetector.config_class(rho_max=1e3, max_iter=3))
    state = Lagrangian(1.0, 0.0)
    trace = []
    for h in (0.4, 0.3, 0.1, 0.08, 0.07, 0.06):  # h after each epoch
        if not state.finished:
            detector._update_lagrangian(state, h)
        trace.append((float(state.rho), float(state.alpha), int(state.outer_iteration), bool(state.finished)))
    assert trace == [
        (1.0, 0.4, 1, False),        # h_old = inf: α += ρh, next outer iteration
        (10.0, 0.4, 1, False),       # 0.3 > 0.2: ρ ×10, same outer iteration
        (10.0, 1.4, 2, False),       # 0.1 <= 0.15: α += 10 · 0.1
        (100.0, 1.4, 2, False),      # 0.08 > 0.05: ρ ×10
        (1000.0, 71.4, 3, True),     # 0.07 > 0.04: ρ ×10 reaches rho_max: α += 1000 · 0.07, stop
        (1000.0, 71.4, 3, True),     # finished: unchanged
    ]
    state = Lagrangian(1.0, 0.0)
    detector._update_lagrangian(state, 5e-5)  # h <= h_tol
    assert bool(state.finished)


def test_weight_decay_and_clipping_spare_the_graph(fitted):
    detector, _ = fitted
    groups = detector.optimizers_["adam"].param_groups
    assert groups[0]["weight_decay"] == 0.0005 and groups[1]["weight_decay"] == 0.0
    assert groups[1]["params"][0] is detector.modules_["ganf"].graph
