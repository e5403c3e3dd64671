"""The vertical federated predictors: the split, its two execution modes and the boundary."""

import numpy as np
import pytest
import torch
from conftest import synthetic_series
from test_transformer import WINDOW, one_system
from test_transformer import config as transformer_config

from tsad.core.metrics import roc_auc
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.vfl import resolve_parties

NAMES = [f"c{i}" for i in range(7)]
PARTIES = [{"name": "utility", "channels": ["c[0-2]"]}, {"name": "contractor", "channels": ["c3", "c4"]},
           {"name": "vendor", "channels": ["c5", "c6"]}]


@pytest.fixture(scope="module")
def series():
    train = WindowedSeries.from_frame(synthetic_series(400, channels=7, seed=1, anomalies=False).drop(columns="label"),
                                      10)
    test = WindowedSeries.from_frame(synthetic_series(200, channels=7, seed=2), 10)
    return train.windows, test.windows


def tiny(method: str, mode: str) -> dict:
    options = {"method": method, "mode": mode, "device": "cpu", "epochs": 2, "batch_size": 128, "progress": False,
               "threads": 1, "parties": PARTIES, "channel_names": NAMES, "record_boundary": True}
    return options | ({"feedforward_size": 32} if method == "transformer_vfl" else {"prediction_window": 3})


@pytest.mark.parametrize("method", ["transformer_vfl", "lstm_vfl"])
def test_simulated_and_distributed_modes_give_the_same_scores(method, series):
    train, test = series
    simulated = registry.build(tiny(method, "simulated")).fit(train, train[-60:])
    distributed = registry.build(tiny(method, "distributed")).fit(train, train[-60:])
    assert distributed.history_["train_loss"] == pytest.approx(simulated.history_["train_loss"], rel=1e-5)
    expected = simulated.channel_scores(test)
    scores = distributed.channel_scores(test)  # scored by the party and server processes again
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    # The bundled model (every party's parts) scores in one process like the simulated one.
    bundled = registry.from_state(distributed.state() | {"config": distributed.state()["config"] | {
        "mode": "simulated"}})
    np.testing.assert_allclose(bundled.channel_scores(test), scores, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_the_server_receives_embeddings_only(series):
    train, test = series
    detector = registry.build(tiny("transformer_vfl", "distributed")).fit(train)
    received = detector.boundary_record_
    data = [t for t in received if t.dtype == np.float32]  # the rest: the lead party's requests (op codes)
    assert data and all(t.shape[-1] == 8 for t in data)  # embeddings (B, L, 8) and their gradients, nothing else
    assert all(t.ndim == 1 and len(t) <= 3 for t in received if t.dtype != np.float32)
    # No raw values crossed, not even reshaped: float32 numbers of the raw windows turn up among the embeddings by
    # coincidence only (a raw tensor's would all be there).
    raw = np.unique(train)
    assert np.isin(np.concatenate([t.ravel() for t in data]), raw).mean() < 1e-3
    detector.channel_scores(test[:20])
    assert all(t.shape[-1] == 8 for t in detector.boundary_record_ if t.dtype == np.float32)


def test_vfl_beats_the_random_control(make_series):
    fit, val, test = one_system(make_series)  # the centralised Transformer's test system and settings
    labels = test.labels[WINDOW - 1:]  # a window's score is its last row's
    detector = registry.build(transformer_config(method="transformer_vfl")).fit(fit, val)
    control = registry.build({"method": "random", "seed": 1}).fit(fit)
    auc, chance = (roc_auc(labels, model.decision_function(test.windows)) for model in (detector, control))
    assert auc > 0.85 and auc > chance + 0.3, (auc, chance)


def test_lstm_vfl_keeps_its_three_losses(series):
    train, _ = series
    history = registry.build(tiny("lstm_vfl", "simulated") | {"epochs": 1}).fit(train).history_
    assert {"train_teacher_forcing", "train_free_running", "train_professor_forcing"} <= set(history)


def test_default_parties_are_the_seeds_split():
    assert resolve_parties(None, [f"dim_{i}" for i in range(10)]) == [
        ("party_0", [0, 1, 2, 3]), ("party_1", [4, 5, 6]), ("party_2", [7, 8, 9])]


def test_parties_by_name_and_pattern():
    assert resolve_parties(PARTIES, NAMES) == [("utility", [0, 1, 2]), ("contractor", [3, 4]), ("vendor", [5, 6])]


@pytest.mark.parametrize(("parties", "message"), [
    (PARTIES[:2], r"channel\(s\) \['c5', 'c6'\] belong to no VFL party"),
    ([*PARTIES, {"name": "ghost", "channels": ["x*"]}], r"party 'ghost' \(model.parties\[3\]\) matches none"),
    ([*PARTIES, {"name": "twice", "channels": ["c0"]}], "channel 'c0' belongs to VFL parties 'utility' and 'twice'"),
    ([{"name": "a", "channels": "c0"}], r"model.parties\[0\] must be"),
])
def test_bad_parties_are_refused_by_name(parties, message):
    with pytest.raises(ValueError, match=message):
        resolve_parties(parties, NAMES)


def test_parties_are_resolved_against_the_channels_present(series):
    train, _ = series
    options = tiny("transformer_vfl", "simulated") | {"channel_names": [n for n in NAMES if n != "c3"] + ["c7"]}
    with pytest.raises(ValueError, match="'c7'"):  # c3 dropped by feature selection, c7 unknown to the parties
        registry.build(options).fit(train)


def test_distributed_training_needs_no_party_to_see_another(series, monkeypatch):
    """Each party process is given its own channels' windows only (the parent slices before it starts them)."""
    train, _ = series
    saved = []
    original = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, path, *a, **k: (saved.append(obj), original(obj, path, *a, **k)))
    registry.build(tiny("transformer_vfl", "distributed") | {"epochs": 1, "record_boundary": False}).fit(train)
    inputs = [obj for obj in saved if isinstance(obj, dict) and "task" in obj]  # one per process: server, parties
    assert len(inputs) == 4 and [given["windows"].shape[2] for given in inputs if "windows" in given] == [3, 2, 2]
