"""The Transformer next-step predictor: detection, causality, the error Gaussian, determinism, resume, geometry."""

import numpy as np
import pytest
import torch
from conftest import interrupt_training, synthetic_series

from tsad.core.metrics import roc_auc
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.training import checkpoint_files
from tsad.models.transformer import TransformerDetector, sinusoidal_positions

WINDOW = 16


def one_system(make_series, n: int = 5000):
    """Training, validation and test windows of ONE synthetic system: rows [0, 1000) are normal (anomalies start at
    n // 5), the rest carries the injected anomalies.

    The ``train_frame`` / ``test_frame`` fixtures come from two generator seeds, i.e. two systems with other phase
    couplings between the channels; a predictor of the rows from the channels' joint past models that coupling,
    so it is tested on the system it was trained on.
    """
    full = make_series(n, seed=2, anomalies=True)
    assert not full["label"].iloc[:1000].any()
    train = WindowedSeries.from_frame(full.iloc[:1000].drop(columns="label"), WINDOW)
    test = WindowedSeries.from_frame(full.iloc[1000:], WINDOW)
    return train.windows[:800], train.windows[800:], test


def config(**options):
    return {"method": "transformer", "device": "cpu", "epochs": 2, "batch_size": 64, "feedforward_size": 64,
            "progress": False, "seed": 3} | options


@pytest.fixture(scope="module")
def fitted():
    fit, val, test = one_system(synthetic_series)
    return registry.build(config()).fit(fit, val), fit, val, test


def test_transformer_beats_the_random_control(fitted):
    detector, fit, _, test = fitted
    labels = test.labels[WINDOW - 1:]  # a window's score is its last row's
    random = registry.build({"method": "random", "seed": 1}).fit(fit)
    ours = roc_auc(labels, detector.decision_function(test.windows))
    chance = roc_auc(labels, random.decision_function(test.windows))
    assert ours > 0.9 and ours > chance + 0.3, (ours, chance)
    assert set(detector.history_) >= {"train_loss", "val_loss"}


def test_predictions_are_causal(fitted):
    detector, _, _, test = fitted
    windows = np.array(test.windows[:32])
    before = detector.next_step_predictions(windows)  # (B, W - 1, C): output i predicts row i + 1 from rows <= i
    assert before.shape == (32, WINDOW - 1, windows.shape[2])
    for row in (WINDOW - 1, WINDOW - 2, 5):
        changed = windows.copy()
        changed[:, row] += 3.0
        after = detector.next_step_predictions(changed)
        np.testing.assert_allclose(after[:, :row], before[:, :row], atol=1e-6)  # predictions of rows <= row
        if row < WINDOW - 1:
            assert not np.allclose(after[:, row], before[:, row])  # the next row's prediction sees it
    # The last row is only the target: its predictions are unchanged, its error (and score) is not.
    changed = windows.copy()
    changed[:, -1] += 3.0
    np.testing.assert_allclose(detector.prediction_errors(changed), detector.prediction_errors(windows) - 3.0,
                               atol=1e-5)


def test_gaussian_and_scores_match_a_direct_computation(fitted):
    detector, fit, _, test = fitted
    errors = detector.prediction_errors(fit)  # error_fit: train
    np.testing.assert_allclose(detector.gaussian_["mean"].numpy(), errors.mean(axis=0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(detector.gaussian_["std"].numpy(), errors.std(axis=0, ddof=1) + 1e-5, rtol=1e-6)
    test_errors = detector.prediction_errors(test.windows)
    expected = ((test_errors - errors.mean(axis=0)) / (errors.std(axis=0, ddof=1) + 1e-5)) ** 2
    channels = detector.channel_scores(test.windows)
    np.testing.assert_allclose(channels, expected, rtol=1e-4)
    np.testing.assert_allclose(detector.decision_function(test.windows), channels.sum(axis=1), rtol=1e-10)


def test_error_fit_on_validation_windows(fitted):
    _, fit, val, _ = fitted
    detector = registry.build(config(epochs=1, error_fit="validation")).fit(fit, val)
    errors = detector.prediction_errors(val)
    np.testing.assert_allclose(detector.gaussian_["mean"].numpy(), errors.mean(axis=0), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="error_fit: validation needs validation windows"):
        registry.build(config(epochs=1, error_fit="validation")).fit(fit)


def test_same_seed_same_scores_and_the_gaussian_is_checkpointed(fitted, tmp_path):
    detector, fit, val, test = fitted
    again = registry.build(config()).fit(fit, val)
    other = registry.build(config(seed=4)).fit(fit, val)
    scores = detector.channel_scores(test.windows)
    np.testing.assert_array_equal(scores, again.channel_scores(test.windows))
    assert not np.array_equal(scores, other.channel_scores(test.windows))
    torch.save(detector.state(), tmp_path / "detector.pt")
    state = torch.load(tmp_path / "detector.pt", weights_only=True)
    assert {"gaussian.mean", "gaussian.std"} <= set(state["tensors"])
    np.testing.assert_allclose(registry.from_state(state).channel_scores(test.windows), scores, rtol=1e-6)


def test_resume_with_augmentation_and_learning_rate_steps_gives_the_uninterrupted_result(fitted, tmp_path,
                                                                                          monkeypatch):
    _, fit, val, test = fitted
    options = {"epochs": 3, "lr_milestones": [1], "augment_noise": 0.05}
    whole = registry.build(config(checkpoint_dir=str(tmp_path / "a"), **options)).fit(fit[:300], val)
    assert whole.optimizers_["adam"].param_groups[0]["lr"] == pytest.approx(0.002 * 0.1)  # stepped at epoch 1
    interrupted = registry.build(config(checkpoint_dir=str(tmp_path / "b"), **options))
    interrupt_training(monkeypatch, TransformerDetector, lambda: interrupted.fit(fit[:300], val))
    assert torch.load(checkpoint_files(tmp_path / "b")[0], weights_only=True)["epoch"] == 2
    resumed = registry.build(config(checkpoint_dir=str(tmp_path / "b"), **options)).fit(fit[:300], val)
    assert resumed.history_ == whole.history_
    np.testing.assert_array_equal(resumed.channel_scores(test.windows[:200]), whole.channel_scores(test.windows[:200]))


def test_windows_too_short_and_bad_options_are_refused(fitted):
    _, fit, _, _ = fitted
    with pytest.raises(ValueError, match=r"windows of 1 row\(s\) leave nothing to predict from"):
        registry.build(config()).fit(np.ascontiguousarray(fit[:, :1]))
    with pytest.raises(ValueError, match="must be a multiple of heads"):
        registry.build(config(heads=5)).fit(fit)
    with pytest.raises(ValueError, match="error_fit must be 'train' or 'validation'"):
        registry.build(config(error_fit="test")).fit(fit)


def test_sinusoidal_positions():
    table = sinusoidal_positions(50, 8).numpy()
    assert table.shape == (50, 8)
    np.testing.assert_allclose(table[:, 0], np.sin(np.arange(50)), atol=1e-6)  # wavelength 2π on feature 0
    np.testing.assert_allclose(table[:, 1], np.cos(np.arange(50)), atol=1e-6)
    np.testing.assert_allclose(table[:, 6], np.sin(np.arange(50) / 10000 ** (6 / 8)), atol=1e-6)
