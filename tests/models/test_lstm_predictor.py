"""The LSTM multi-step predictor: the seed's carried-state roll-outs, the Mahalanobis scorer, detection, causality."""

import numpy as np
import pytest
import torch
from conftest import synthetic_series

from tsad.core.metrics import roc_auc
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.lstm_predictor import mahalanobis, regularised_inverse

WINDOW, P = 16, 4


def config(**options):
    return {"method": "lstm", "device": "cpu", "epochs": 2, "batch_size": 64, "prediction_window": P,
            "learning_rate": 0.005, "weight_decay": 0.0, "progress": False, "seed": 3} | options


@pytest.fixture(scope="module")
def fitted():
    # One system (see tests/models/test_transformer.py::one_system): normal rows [0, 1000), anomalies after.
    full = synthetic_series(5000, seed=2, anomalies=True)
    train = WindowedSeries.from_frame(full.iloc[:1000].drop(columns="label"), WINDOW)
    test = WindowedSeries.from_frame(full.iloc[1000:], WINDOW)
    fit, val = train.windows[:800], train.windows[800:]
    return registry.build(config()).fit(fit, val), fit, val, test


def test_mahalanobis_matches_numpy():
    rng = np.random.default_rng(0)
    channels, width = 3, 5
    errors = rng.normal(size=(7, channels, width))
    mean = rng.normal(size=(channels, width))
    factors = rng.normal(size=(channels, width, width))
    covariance = factors @ factors.transpose(0, 2, 1) + 0.1 * np.eye(width)
    expected = np.array([[(errors[b, c] - mean[c]) @ np.linalg.inv(covariance[c]) @ (errors[b, c] - mean[c])
                          for c in range(channels)] for b in range(len(errors))])
    precision = regularised_inverse(torch.from_numpy(covariance), ridge=0.0)
    got = mahalanobis(torch.from_numpy(errors), torch.from_numpy(mean), precision).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    # The ridge adds ridge * mean(diag) (+ 1e-12) to the diagonal before inverting.
    ridged = regularised_inverse(torch.from_numpy(covariance), ridge=0.5).numpy()
    shift = 0.5 * np.trace(covariance, axis1=1, axis2=2) / width + 1e-12
    np.testing.assert_allclose(ridged, np.linalg.inv(covariance + shift[:, None, None] * np.eye(width)), rtol=1e-9)


def seed_rollouts(net: torch.nn.Module, series: np.ndarray, p: int) -> np.ndarray:
    """The original scorer (chickenbestlover's anomalyScore, VFL detector) on one series, row by row: the state
    after each true row is kept (``pasthidden``), each origin rolls out p steps off it; returns the p predictions
    of the last row, oldest origin first."""
    x = torch.from_numpy(np.asarray(series, dtype=np.float32))
    predictions, past = [], None
    with torch.no_grad():
        for t in range(len(x)):
            out, hidden, _ = net(x[t].view(1, 1, -1), past)
            row, past = [out[0, 0]], hidden
            for _ in range(1, p):
                out, hidden, _ = net(out, hidden)
                row.append(out[0, 0])
            predictions.append(row)
    t = len(x) - 1
    return torch.stack([predictions[t - p + j][p - 1 - j] for j in range(p)]).numpy()


def test_rollouts_carry_the_state_like_the_original_scorer(fitted):
    detector, _, _, test = fitted
    windows = np.array(test.windows[100:106])
    ours = detector.rollout_predictions(windows)
    net = detector.modules_["lstm"].eval()
    for window, got in zip(windows, ours, strict=True):
        np.testing.assert_allclose(got, seed_rollouts(net, window, P), atol=1e-5)
    errors = detector.prediction_errors(windows)  # (B, C, P): prediction - truth
    np.testing.assert_allclose(errors, (ours - windows[:, -1:, :]).transpose(0, 2, 1), atol=1e-6)


def test_gaussian_and_scores_match_a_direct_computation(fitted):
    detector, fit, _, test = fitted
    errors = detector.prediction_errors(fit)  # (N, C, P), error_fit: train
    mean = errors.mean(axis=0)
    covariance = np.einsum("ncp,ncq->cpq", errors, errors) / len(errors) - np.einsum("cp,cq->cpq", mean, mean)
    np.testing.assert_allclose(detector.gaussian_["mean"].numpy(), mean, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(detector.gaussian_["covariance"].numpy(), covariance, rtol=1e-6, atol=1e-12)
    test_errors = detector.prediction_errors(test.windows[:300])
    shift = 1e-6 * np.trace(covariance, axis1=1, axis2=2) / P + 1e-12
    inverse = np.linalg.inv(covariance + shift[:, None, None] * np.eye(P))
    centred = test_errors - mean
    expected = np.einsum("bcp,cpq,bcq->bc", centred, inverse, centred)
    channels = detector.channel_scores(test.windows[:300])
    np.testing.assert_allclose(channels, expected, rtol=1e-4)
    np.testing.assert_allclose(detector.decision_function(test.windows[:300]), channels.sum(axis=1), rtol=1e-10)


def test_lstm_beats_the_random_control(fitted):
    detector, fit, _, test = fitted
    labels = test.labels[WINDOW - 1:]
    random = registry.build({"method": "random", "seed": 1}).fit(fit)
    ours = roc_auc(labels, detector.decision_function(test.windows))
    chance = roc_auc(labels, random.decision_function(test.windows))
    assert ours > 0.9 and ours > chance + 0.3, (ours, chance)


def test_predictions_of_the_last_row_never_see_it(fitted):
    detector, _, _, test = fitted
    windows = np.array(test.windows[:32])
    changed = windows.copy()
    changed[:, -1] += 3.0
    np.testing.assert_array_equal(detector.rollout_predictions(changed), detector.rollout_predictions(windows))
    changed = windows.copy()
    changed[:, WINDOW - 2] += 3.0  # the newest origin's row: only its own roll-out (j = P - 1) starts after it
    before, after = detector.rollout_predictions(windows), detector.rollout_predictions(changed)
    np.testing.assert_allclose(after[:, : P - 1], before[:, : P - 1], atol=1e-6)
    assert not np.allclose(after[:, P - 1], before[:, P - 1])


def test_same_seed_same_scores_and_the_gaussian_is_checkpointed(fitted, tmp_path):
    detector, fit, val, test = fitted
    scores = detector.channel_scores(test.windows[:300])
    np.testing.assert_array_equal(registry.build(config()).fit(fit, val).channel_scores(test.windows[:300]), scores)
    assert not np.array_equal(registry.build(config(seed=4)).fit(fit, val).channel_scores(test.windows[:300]), scores)
    torch.save(detector.state(), tmp_path / "detector.pt")
    state = torch.load(tmp_path / "detector.pt", weights_only=True)
    assert {"gaussian.mean", "gaussian.covariance", "gaussian.precision"} <= set(state["tensors"])
    np.testing.assert_allclose(registry.from_state(state).channel_scores(test.windows[:300]), scores, rtol=1e-6)


def test_free_running_and_professor_forcing_losses(fitted):
    _, fit, val, _ = fitted
    detector = registry.build(config(epochs=1, free_running_loss=True, professor_forcing_loss=True)).fit(fit[:200], val)
    history = detector.history_
    assert {"train_teacher_forcing", "train_free_running", "train_professor_forcing"} <= set(history)
    total = history["train_teacher_forcing"][0] + history["train_free_running"][0] + \
        history["train_professor_forcing"][0]
    assert history["train_loss"][0] == pytest.approx(total)


def test_windows_shorter_than_the_prediction_window_are_refused(fitted):
    _, fit, _, _ = fitted
    with pytest.raises(ValueError, match=r"windows need at least 5 rows, got 4"):
        registry.build(config()).fit(np.ascontiguousarray(fit[:, :4]))
    with pytest.raises(ValueError, match="prediction_window must be >= 1"):
        registry.build(config(prediction_window=0)).fit(fit)
