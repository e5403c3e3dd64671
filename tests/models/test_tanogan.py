"""TAnoGAN: batched inversion equals the one-window loop, windows stay independent, detection beats chance, the
notebook's quirks are parameters that matter, and training goes through the shared loop (checkpoint, resume)."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import interrupt_training, synthetic_series

from tsad.core.metrics import roc_auc
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.tanogan import TanoganDetector, latent_sequences
from tsad.models.training import checkpoint_files

WINDOW = 16


def scaled(frame, reference):
    channels = [c for c in frame.columns if c != "label"]
    mean, std = reference[channels].mean(), reference[channels].std()
    out = ((frame[channels] - mean) / (3 * std)).astype(np.float32)  # about [-1, 1]: G ends in tanh
    return out.assign(label=frame["label"]) if "label" in frame.columns else out


@pytest.fixture(scope="module")
def data():
    train_frame = synthetic_series(2000, seed=1, anomalies=False).drop(columns="label")
    test_frame = synthetic_series(2000, seed=2, anomalies=True, start="2021-01-02")
    train = WindowedSeries.from_frame(scaled(train_frame, train_frame), WINDOW)
    test = WindowedSeries.from_frame(scaled(test_frame, train_frame), WINDOW, stride=8)
    return train.windows[:1500], train.windows[1500:], test


def config(**options):
    return {"method": "tanogan", "device": "cpu", "epochs": 2, "batch_size": 128, "generator_hidden": [8, 8, 16],
            "discriminator_hidden": 16, "inversion_steps": 10, "progress": False, "seed": 3} | options


@pytest.fixture(scope="module")
def fitted(data):
    fit, val, _ = data
    return registry.build(config()).fit(fit, val)


def with_config(detector: TanoganDetector, **changes) -> TanoganDetector:
    """The same fitted weights under other scoring options."""
    state = detector.state()
    return TanoganDetector.from_state(state | {"config": dataclasses.asdict(detector.config) | changes})


def test_tanogan_beats_the_random_control(data, fitted):
    fit, _, test = data
    labels = test.window_labels
    tanogan_auc = roc_auc(labels, fitted.decision_function(test.windows))
    random_auc = roc_auc(labels, registry.build({"method": "random", "seed": 1}).fit(fit).decision_function(
        test.windows))
    assert tanogan_auc > 0.8 and tanogan_auc > random_auc + 0.25, (tanogan_auc, random_auc)
    assert set(fitted.history_) >= {"train_loss_d", "train_loss_g", "train_d_real", "train_d_fake", "val_loss"}


@pytest.mark.parametrize("zero_grad", [True, False])
def test_batched_inversion_equals_the_one_window_loop(data, fitted, zero_grad):
    windows = np.ascontiguousarray(data[2].windows[:24])
    detector = with_config(fitted, inversion_zero_grad=zero_grad)
    batched = detector.decision_function(windows)
    one_by_one = np.array([float(detector.invert_batch(torch.from_numpy(windows[j:j + 1]), [j])[0])
                           for j in range(len(windows))])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4, rtol=0)
    # Any batch size gives the same scores: a window's latent depends on its position only.
    np.testing.assert_allclose(with_config(detector, inversion_batch_size=7).decision_function(windows), batched,
                               atol=1e-4, rtol=0)


def test_one_adam_over_the_batch_keeps_windows_independent(data, fitted):
    """The claim behind batching: a window's score does not change when the other windows of its batch change."""
    windows = np.ascontiguousarray(data[2].windows[:12]).copy()
    before = fitted.invert_batch(torch.from_numpy(windows), np.arange(12)).numpy()
    windows[:6] = np.random.default_rng(0).normal(0, 3, windows[:6].shape).astype(np.float32)  # wild neighbours
    after = fitted.invert_batch(torch.from_numpy(windows), np.arange(12)).numpy()
    np.testing.assert_allclose(after[6:], before[6:], atol=1e-5, rtol=0)
    assert np.abs(after[:6] - before[:6]).min() > 1e-3  # the changed windows did change


def test_latents_depend_on_seed_and_position_only():
    every = latent_sequences(np.arange(50), (60, 2), seed=4, std=0.1)
    np.testing.assert_array_equal(latent_sequences(np.array([7, 31]), (60, 2), seed=4, std=0.1), every[[7, 31]])
    assert every.shape == (50, 60, 2) and every.dtype == np.float32
    assert abs(every.mean()) < 0.005 and abs(every.std() - 0.1) < 0.005
    assert not np.allclose(latent_sequences(np.arange(50), (60, 2), seed=5, std=0.1), every)
    assert np.abs(np.corrcoef(every[:, :, 0].ravel(), every[:, :, 1].ravel())[0, 1]) < 0.03


def test_the_notebooks_missing_zero_grad_changes_the_scores(data, fitted):
    windows = np.ascontiguousarray(data[2].windows[:64])
    clean = with_config(fitted, inversion_steps=50).decision_function(windows)
    accumulated = with_config(fitted, inversion_steps=50, inversion_zero_grad=False).decision_function(windows)
    at_start = with_config(fitted, inversion_steps=1).decision_function(windows)  # the loss at the initial z
    gain = np.abs(at_start - clean).mean()  # how much the 50 steps lower the loss at all
    assert gain > 1e-3 and np.abs(clean - accumulated).mean() > 0.05 * gain, (gain, np.abs(clean - accumulated))


def test_multivariate_windows_give_a_latent_per_channel(fitted, data):
    generator, discriminator = fitted.modules_["generator"], fitted.modules_["discriminator"]
    channels = data[0].shape[2]
    assert channels == 5 and generator.lstms[0].input_size == channels and generator.output.out_features == channels
    assert [lstm.hidden_size for lstm in generator.lstms] == [8, 8, 16] and discriminator.lstm.input_size == channels


def test_original_discriminator_step_takes_two_optimizer_steps(data):
    fit = data[0][:256]
    for mode, steps_per_batch in (("original", 2), ("single", 1)):
        detector = registry.build(config(epochs=1, discriminator_step=mode)).fit(fit)
        state = detector.optimizers_["discriminator"].state_dict()["state"]
        assert int(next(iter(state.values()))["step"]) == steps_per_batch * 2  # 256 windows = 2 batches of 128
        assert int(next(iter(detector.optimizers_["generator"].state_dict()["state"].values()))["step"]) == 2


def test_validation_losses(data):
    fit, val, _ = data
    for name in ("nearest_sample", "inversion"):
        history = registry.build(config(epochs=2, validation_loss=name, inversion_steps=3)).fit(
            fit[:512], val[:64]).history_
        assert len(history["val_loss"]) == 2 and np.isfinite(history["val_loss"]).all()
    with pytest.raises(ValueError, match="unknown validation_loss 'fid'"):
        registry.build(config(validation_loss="fid")).fit(fit[:256])
    with pytest.raises(ValueError, match="unknown discriminator_step"):
        registry.build(config(discriminator_step="twice")).fit(fit[:256])


def test_interrupted_training_resumes_with_the_same_result(data, tmp_path, monkeypatch):
    fit, val, test = data
    fit, windows = fit[:512], np.ascontiguousarray(test.windows[:16])
    options = config(epochs=3, inversion_steps=3)
    uninterrupted = registry.build(options | {"checkpoint_dir": str(tmp_path / "a")}).fit(fit, val)
    interrupted = registry.build(options | {"checkpoint_dir": str(tmp_path / "b")})
    interrupt_training(monkeypatch, TanoganDetector, lambda: interrupted.fit(fit, val))
    assert torch.load(checkpoint_files(tmp_path / "b")[0], weights_only=True)["epoch"] == 2
    resumed = registry.build(options | {"checkpoint_dir": str(tmp_path / "b")}).fit(fit, val)
    assert resumed.history_ == uninterrupted.history_
    np.testing.assert_array_equal(resumed.decision_function(windows), uninterrupted.decision_function(windows))
