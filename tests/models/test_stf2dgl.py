"""STF²-DGL: detection of a broken coupling, the causal multi-scale encoder, the mixed graph, the regularisers and
USD's soft-contrastive term."""

import numpy as np
import pytest
import torch
from conftest import decoupled_sensors, roc_auc_beside_random_control

from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.stf2dgl import dilated_lstm, soft_contrastive


def config(**options):
    return {"method": "stf2dgl", "device": "cpu", "epochs": 8, "batch_size": 64, "hidden_size": 16,
            "learning_rate": 0.005, "progress": False, "seed": 0} | options


@pytest.fixture(scope="module")
def windows():
    train = WindowedSeries.from_frame(decoupled_sensors(600, seed=0, anomalies=False).drop(columns="label"), 12)
    return train.windows


def test_stf2dgl_sees_two_sensors_decouple():
    ours, chance = roc_auc_beside_random_control(config(), decoupled_sensors(2000, seed=0, anomalies=False),
                                                 decoupled_sensors(1500, seed=1))
    assert ours > 0.9 and ours > chance + 0.3, (ours, chance)


@pytest.mark.parametrize("dilation", [1, 2, 4, 5])
def test_dilated_lstm_is_causal_and_reads_every_dilation_th_step(dilation):
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(1, 4, batch_first=True)
    series = torch.randn(3, 11)
    states = dilated_lstm(rnn, series, dilation)
    assert states.shape == (3, 11, 4)
    changed = series.clone()
    changed[:, 6] += 1.0
    moved = (dilated_lstm(rnn, changed, dilation) - states).abs().amax(dim=(0, 2)) > 0
    assert moved.tolist() == [t >= 6 and (t - 6) % dilation == 0 for t in range(11)]
    # Step t's state is the LSTM's over t's phase: ..., t - 2d, t - d, t.
    phase = series[:, 10 % dilation::dilation]
    np.testing.assert_allclose(states[:, 10].detach(), rnn(phase[..., None])[0][:, -1].detach(), atol=1e-6)


def test_graphs_mix_the_static_part_and_leave_out_self_loops(windows):
    detector = registry.build(config(epochs=1, static_graph_weight=0.5, graph_regularizer="dag")).fit(windows)
    graphs = detector.window_graphs(windows[:20])
    assert graphs.shape == (20, 3, 3)
    np.testing.assert_allclose(np.diagonal(graphs, axis1=1, axis2=2), 0.0)
    static = detector.artifacts()["static_graph"].to_numpy()
    assert static.shape == (3, 3) and static.min() >= 0 and static.max() <= 1
    off = static * (1 - np.eye(3))
    dynamic = (graphs - 0.5 * off / off.sum(axis=0)) / 0.5  # A = ½ A_dynamic + ½ A_static (column-normalised)
    np.testing.assert_allclose(dynamic.sum(axis=1), 1.0, atol=1e-5)
    assert dynamic.min() >= -1e-6
    assert set(detector.history_) >= {"train_nll", "train_graph"}
    assert registry.build(config(epochs=1)).fit(windows).artifacts() == {}


def test_contrastive_term_trains_and_bad_options_are_refused(windows):
    detector = registry.build(config(epochs=1, contrastive_weight=1.0, knn_neighbours=3)).fit(windows)
    assert np.isfinite(detector.history_["train_contrastive"]).all()
    assert detector.train_windows_ is None  # the neighbour bank is not kept
    with pytest.raises(ValueError, match="graph_regularizer: dag penalises the static graph"):
        registry.build(config(graph_regularizer="dag")).fit(windows)
    with pytest.raises(ValueError, match="unknown graph_regularizer 'sparse'"):
        registry.build(config(graph_regularizer="sparse")).fit(windows)
    with pytest.raises(ValueError, match="dilations must be"):
        registry.build(config(dilations=[0])).fit(windows)


def test_soft_contrastive_pulls_pairs_together():
    torch.manual_seed(0)
    windows, latent = torch.randn(6, 4, 3), torch.randn(6, 5)
    near, _ = soft_contrastive(windows, latent, latent + 0.001)
    far, _ = soft_contrastive(windows, latent, latent + 1.0)
    assert 0 <= float(near) < float(far)
