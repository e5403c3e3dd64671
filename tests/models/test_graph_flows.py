"""The graph flows' shared blocks (DAG penalty, conditional MAF, graph convolution, attention graph) and what the
three graph-flow detectors share: same seed same scores, resume after an interruption, graphs per window."""

import numpy as np
import pytest
import torch
from conftest import decoupled_sensors, interrupt_training
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.graph_flows import (
    AttentionGraph,
    ConditionalMAF,
    GraphConvolution,
    dag_penalty,
    source_softmax,
)
from tsad.models.training import checkpoint_files

FLOWS = {"ganf": {}, "mtgflow": {"exclude_self": True}, "stf2dgl": {"contrastive_weight": 1.0}}


def flow_config(method: str, **options) -> dict:
    return {"method": method, "device": "cpu", "epochs": 3, "batch_size": 64, "hidden_size": 8, "progress": False,
            "seed": 1} | FLOWS[method] | options


@pytest.fixture(scope="module")
def windows():
    train = WindowedSeries.from_frame(decoupled_sensors(700, seed=0, anomalies=False).drop(columns="label"), 12)
    test = WindowedSeries.from_frame(decoupled_sensors(400, seed=1), 12)
    return train.windows[:500], train.windows[500:], test.windows


@given(arrays(np.float64, (5, 5), elements=st.floats(0, 1)), st.permutations(range(5)))
def test_dag_penalty_is_zero_for_acyclic_graphs(weights, order):
    dag = np.triu(weights, k=1)[np.ix_(order, order)]  # a relabelled DAG is still one
    assert abs(float(dag_penalty(torch.from_numpy(dag)))) < 1e-9


@given(arrays(np.float64, (4, 4), elements=st.floats(0, 1)), st.floats(0.1, 1), st.integers(0, 3))
def test_dag_penalty_is_positive_with_a_cycle(weights, back, node):
    graph = np.triu(weights, k=1)
    other = (node + 1) % 4
    graph[other, node], graph[node, other] = back, max(graph[node, other], 0.1)  # the cycle node -> other -> node
    # Every term of tr(exp(A∘A)) − K = Σ_{n≥1} tr((A∘A)^n)/n! is >= 0; the n = 2 term alone is >= (a_no·a_on)².
    assert float(dag_penalty(torch.from_numpy(graph))) >= (graph[node, other] * graph[other, node]) ** 2 > 0


def test_dag_penalty_of_a_two_cycle_matches_the_formula():
    graph = torch.tensor([[0.0, 0.5], [0.5, 0.0]], dtype=torch.float64)
    # tr(exp(B)) - 2 for B = [[0, .25], [.25, 0]]: 2 cosh(0.25) - 2
    assert float(dag_penalty(graph)) == pytest.approx(2 * np.cosh(0.25) - 2, rel=1e-12)


@pytest.mark.parametrize("n_blocks", [1, 2])
def test_flow_density_integrates_to_one(n_blocks):
    torch.manual_seed(0)
    flow = ConditionalMAF(n_blocks, hidden_size=8, condition_size=4, base_means=torch.tensor([0.7])).double()
    grid = torch.linspace(-40, 40, 80001, dtype=torch.float64)
    condition = torch.randn(4, dtype=torch.float64).expand(1, 1, len(grid), 4)  # one sensor, a fixed condition
    with torch.no_grad():
        density = flow.log_prob(grid[None, None], condition).exp()[0, 0]
    assert float(torch.trapezoid(density, grid)) == pytest.approx(1.0, abs=1e-2)


def test_flow_reads_the_value_itself_only_when_unmasked():
    torch.manual_seed(0)
    condition = torch.randn(2, 3, 5, 4)
    x = torch.randn(2, 3, 5)
    for unmasked, affine in ((False, True), (True, False)):
        flow = ConditionalMAF(1, 8, 4, torch.zeros(3), unmasked_input=unmasked)
        with torch.no_grad():  # log p of an affine map of x is quadratic in x: equal second differences
            values = [flow.log_prob(x + shift, condition) for shift in (0.0, 1.0, 2.0, 3.0)]
        second = [values[i + 2] - 2 * values[i + 1] + values[i] for i in range(2)]
        assert torch.allclose(second[0], second[1], atol=1e-4) == affine


def test_graph_convolution_matches_its_formula_for_static_and_per_window_graphs():
    torch.manual_seed(0)
    gcn = GraphConvolution(6)
    h, graph = torch.randn(2, 3, 5, 6), torch.rand(3, 3)
    static = gcn(h, graph)
    np.testing.assert_allclose(gcn(h, graph.expand(2, 3, 3)).detach(), static.detach(), atol=1e-6)
    j, t = 1, 3
    message = sum(graph[k, j] * h[:, k, t] for k in range(3))
    expected = gcn.lin_2(torch.relu(gcn.lin_n(message) + gcn.lin_r(h[:, j, t - 1])))
    np.testing.assert_allclose(static[:, j, t].detach(), expected.detach(), atol=1e-5)
    first = gcn.lin_2(torch.relu(gcn.lin_n(sum(graph[k, j] * h[:, k, 0] for k in range(3)))))  # no past at t = 0
    np.testing.assert_allclose(static[:, j, 0].detach(), first.detach(), atol=1e-5)


def test_attention_graph_columns_sum_to_one_and_the_view_bug_scrambles_keys():
    torch.manual_seed(0)
    series = torch.randn(4, 5, 7)
    attention = AttentionGraph(7, dropout=0.2).eval()
    graph = attention(series)
    assert graph.shape == (4, 5, 5)
    np.testing.assert_allclose(graph.sum(dim=1).detach(), 1.0, atol=1e-6)
    q, k = attention.w_q(series), attention.w_k(series)
    np.testing.assert_allclose(graph.detach(), torch.softmax(q @ k.transpose(1, 2) / np.sqrt(7), dim=1).detach(),
                               atol=1e-6)
    attention.reproduce_view_bug = True
    assert not torch.allclose(attention(series), graph)
    excluded = source_softmax(torch.randn(2, 4, 4), exclude_self=True)
    np.testing.assert_allclose(torch.diagonal(excluded, dim1=1, dim2=2), 0.0)
    np.testing.assert_allclose(excluded.sum(dim=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("method", list(FLOWS))
def test_same_seed_same_scores_and_graphs(method, windows):
    fit, val, test = windows
    first = registry.build(flow_config(method)).fit(fit, val)
    again = registry.build(flow_config(method)).fit(fit, val)
    np.testing.assert_array_equal(first.decision_function(test), again.decision_function(test))
    graphs = first.window_graphs(test)
    assert graphs.shape == (len(test), 3, 3) and graphs.dtype == np.float64
    np.testing.assert_array_equal(graphs, again.window_graphs(test))


@pytest.mark.parametrize("method", list(FLOWS))
def test_resume_after_an_interruption_gives_the_uninterrupted_result(method, windows, tmp_path, monkeypatch):
    fit, val, test = windows
    whole = registry.build(flow_config(method, checkpoint_dir=str(tmp_path / "a"))).fit(fit, val)
    interrupted = registry.build(flow_config(method, checkpoint_dir=str(tmp_path / "b")))
    interrupt_training(monkeypatch, type(interrupted), lambda: interrupted.fit(fit, val))
    assert torch.load(checkpoint_files(tmp_path / "b")[0], weights_only=True)["epoch"] == 2
    resumed = registry.build(flow_config(method, checkpoint_dir=str(tmp_path / "b"))).fit(fit, val)
    assert resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.decision_function(test), whole.decision_function(test))


@pytest.mark.parametrize("method", list(FLOWS))
def test_windows_of_one_row_are_refused(method, windows):
    fit, _, _ = windows
    with pytest.raises(ValueError, match=r"windows of 1 row\(s\) have no series; set windowing.window >= 2"):
        registry.build(flow_config(method)).fit(np.ascontiguousarray(fit[:, :1]))


@pytest.mark.parametrize("method", list(FLOWS))
def test_epoch_windows_bounds_each_epoch_and_a_pass_sees_every_window(method, windows, monkeypatch):
    fit, val, _ = windows
    detector_class = type(registry.build(flow_config(method)))
    seen: list[list[bytes]] = []
    train_step = detector_class._train_step

    def recording_step(self, batch, weights, epoch):
        while len(seen) <= epoch:
            seen.append([])
        seen[epoch] += [window.tobytes() for window in batch.numpy()]
        return train_step(self, batch, weights, epoch)

    monkeypatch.setattr(detector_class, "_train_step", recording_step)
    registry.build(flow_config(method, epochs=4, epoch_windows=200)).fit(fit, val)  # 500 windows: passes of 3 epochs
    everything = {window.tobytes() for window in fit}
    assert [len(epoch) for epoch in seen] == [167, 167, 166, 167]
    assert set().union(*seen[:3]) == everything and sum(len(set(epoch)) for epoch in seen[:3]) == len(fit)
    assert set(seen[3]) != set(seen[0])  # the next pass draws a new permutation


@pytest.mark.parametrize("method", list(FLOWS))
def test_epoch_windows_same_seed_same_scores_and_resume_equals_uninterrupted(method, windows, tmp_path, monkeypatch):
    fit, val, test = windows
    options = {"epoch_windows": 150}
    whole = registry.build(flow_config(method, checkpoint_dir=str(tmp_path / "a"), **options)).fit(fit, val)
    again = registry.build(flow_config(method, **options)).fit(fit, val)
    np.testing.assert_array_equal(whole.decision_function(test), again.decision_function(test))
    interrupted = registry.build(flow_config(method, checkpoint_dir=str(tmp_path / "b"), **options))
    interrupt_training(monkeypatch, type(interrupted), lambda: interrupted.fit(fit, val))
    resumed = registry.build(flow_config(method, checkpoint_dir=str(tmp_path / "b"), **options)).fit(fit, val)
    assert resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.decision_function(test), whole.decision_function(test))
    everything = registry.build(flow_config(method, epoch_windows=None)).fit(fit, val)
    assert not np.array_equal(everything.decision_function(test), whole.decision_function(test))


def test_epoch_windows_must_be_positive(windows):
    fit, _, _ = windows
    with pytest.raises(ValueError, match="epoch_windows must be a positive count or null"):
        registry.build(flow_config("mtgflow", epoch_windows=0)).fit(fit)
