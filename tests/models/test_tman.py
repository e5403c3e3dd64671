"""TMAN and the shared training loop: detection, determinism, checkpoints, resume, divergence."""

import logging

import numpy as np
import pytest
import torch
from conftest import interrupt_training

from tsad.core.metrics import roc_auc
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.tman import TmanDetector
from tsad.models.training import PREVIOUS_CHECKPOINT_FILE, TrainingDivergedError, checkpoint_files


def scaled_windows(train_frame, test_frame, window=16):
    channels = [c for c in train_frame.columns if c != "label"]
    low, high = train_frame[channels].min(), train_frame[channels].max()
    scale = lambda f: ((f[channels] - low) / (high - low)).astype(np.float32).assign(label=f["label"])  # noqa: E731
    train = WindowedSeries.from_frame(scale(train_frame).drop(columns="label"), window)
    test = WindowedSeries.from_frame(scale(test_frame), window)
    return train.windows[:1500], train.windows[1500:], test


def config(**options):
    return {"method": "tman", "device": "cpu", "epochs": 4, "batch_size": 128, "hidden_size": 32, "latent_size": 16,
            "progress": False, "seed": 7} | options


@pytest.mark.parametrize("backbone", ["lstm", "tcn", "dense"])
def test_tman_beats_the_random_control(train_frame, test_frame, backbone):
    fit, val, test = scaled_windows(train_frame, test_frame)
    labels = test.window_labels
    tman = registry.build(config(backbone=backbone)).fit(fit, val)
    rand = registry.build({"method": "random", "seed": 1}).fit(fit)
    tman_auc = roc_auc(labels, tman.decision_function(test.windows))
    rand_auc = roc_auc(labels, rand.decision_function(test.windows))
    assert tman_auc > 0.75 and tman_auc > rand_auc + 0.2, (tman_auc, rand_auc)
    assert set(tman.history_) >= {"train_loss", "train_loss_g1", "train_loss_g2", "val_loss"}


@pytest.mark.parametrize("adversarial_weight", [None, 0.1])
def test_same_seed_and_thread_count_same_scores(train_frame, test_frame, adversarial_weight):
    fit, val, test = scaled_windows(train_frame, test_frame)
    options = {"epochs": 2, "threads": 1, "adversarial_weight": adversarial_weight}
    first = registry.build(config(**options)).fit(fit, val)
    second = registry.build(config(**options)).fit(fit, val).decision_function(test.windows)
    third = registry.build(config(**options, seed=8)).fit(fit, val).decision_function(test.windows)
    np.testing.assert_array_equal(first.decision_function(test.windows), second)
    assert not np.array_equal(second, third)
    assert first.history_["threads"] == [1.0] and torch.get_num_threads() == 1


def test_interrupted_run_resumes_at_the_next_epoch_with_the_same_result(train_frame, test_frame, tmp_path,
                                                                        monkeypatch):
    fit, val, test = scaled_windows(train_frame, test_frame)
    uninterrupted = registry.build(config(checkpoint_dir=str(tmp_path / "a"))).fit(fit, val)

    original = TmanDetector._train_step
    seen_epochs = []

    interrupted = registry.build(config(checkpoint_dir=str(tmp_path / "b")))
    interrupt_training(monkeypatch, TmanDetector, lambda: interrupted.fit(fit, val))
    saved = torch.load(checkpoint_files(tmp_path / "b")[0], weights_only=True)
    assert saved["epoch"] == 2 and not saved["finished"]

    def record(self, batch, weights, epoch):
        seen_epochs.append(epoch)
        return original(self, batch, weights, epoch)

    monkeypatch.setattr(TmanDetector, "_train_step", record)
    resumed = registry.build(config(checkpoint_dir=str(tmp_path / "b"))).fit(fit, val)
    assert min(seen_epochs) == 2  # epochs 1 and 2 were not trained again
    assert resumed.history_ == uninterrupted.history_
    np.testing.assert_array_equal(resumed.decision_function(test.windows),
                                  uninterrupted.decision_function(test.windows))
    assert torch.load(checkpoint_files(tmp_path / "b")[0], weights_only=True)["finished"]


def test_a_foreign_checkpoint_is_not_resumed_and_a_finished_one_gives_its_model(train_frame, test_frame, tmp_path,
                                                                                  monkeypatch):
    fit, val, test = scaled_windows(train_frame, test_frame)
    folder = str(tmp_path / "c")
    first = registry.build(config(epochs=2, checkpoint_dir=folder)).fit(fit, val)
    other = registry.build(config(epochs=2, checkpoint_dir=folder, hidden_size=8)).fit(fit, val)
    longer = registry.build(config(epochs=3, checkpoint_dir=folder)).fit(fit, val)
    assert len(other.history_["val_loss"]) == 2 and len(longer.history_["val_loss"]) == 3  # from scratch
    assert len(checkpoint_files(folder)) == 3  # one folder per configuration: none resumes another's

    def must_not_train(self, batch, weights, epoch):
        raise AssertionError("a finished training was run again")

    monkeypatch.setattr(TmanDetector, "_train_step", must_not_train)
    again = registry.build(config(epochs=2, checkpoint_dir=folder)).fit(fit, val)
    assert again.history_ == first.history_
    np.testing.assert_array_equal(again.decision_function(test.windows), first.decision_function(test.windows))


def test_a_damaged_last_checkpoint_is_refused_and_the_previous_one_resumed(train_frame, test_frame, tmp_path,
                                                                          monkeypatch, caplog):
    fit, val, test = scaled_windows(train_frame, test_frame)
    uninterrupted = registry.build(config(checkpoint_dir=str(tmp_path / "a"))).fit(fit, val)
    interrupted = registry.build(config(checkpoint_dir=str(tmp_path / "b")))
    interrupt_training(monkeypatch, TmanDetector, lambda: interrupted.fit(fit, val))
    last = checkpoint_files(tmp_path / "b")[0]
    assert torch.load(last.with_name(PREVIOUS_CHECKPOINT_FILE), weights_only=True)["epoch"] == 1
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # cut short on disk
    with caplog.at_level(logging.INFO, logger="tsad.models.training"):
        resumed = registry.build(config(checkpoint_dir=str(tmp_path / "b"))).fit(fit, val)
    assert f"refusing the damaged checkpoint {last}" in caplog.text
    assert "resuming after epoch 1 from" in caplog.text and "previous.pt" in caplog.text
    assert resumed.history_ == uninterrupted.history_
    np.testing.assert_array_equal(resumed.decision_function(test.windows),
                                  uninterrupted.decision_function(test.windows))


def test_diverging_loss_stops_naming_the_epoch_and_keeps_the_last_good_checkpoint(train_frame, test_frame, tmp_path,
                                                                                   monkeypatch):
    fit, val, _ = scaled_windows(train_frame, test_frame)
    original = TmanDetector._train_step

    def diverge_in_epoch_2(self, batch, weights, epoch):
        losses = original(self, batch, weights, epoch)
        return losses | {"loss": float("nan")} if epoch == 1 else losses

    monkeypatch.setattr(TmanDetector, "_train_step", diverge_in_epoch_2)
    with pytest.raises(TrainingDivergedError, match=r"became nan in epoch 2 .*last good checkpoint is"):
        registry.build(config(checkpoint_dir=str(tmp_path))).fit(fit, val)
    saved = torch.load(checkpoint_files(tmp_path)[0], weights_only=True)
    assert saved["epoch"] == 1 and all(np.isfinite(v).all() for v in saved["history"].values())


@pytest.mark.parametrize("mode", ["downweight", "clip"])
def test_anomaly_suppression_down_weights_high_residual_windows(train_frame, test_frame, mode):
    fit, val, _ = scaled_windows(train_frame, test_frame)
    contaminated = np.ascontiguousarray(fit).copy()
    contaminated[100:110] += 0.8  # anomalies hidden in the training data
    detector = registry.build(config(epochs=3, suppression=mode, suppression_warmup=1, suppression_quantile=0.9))
    detector.fit(contaminated, val)
    weights = detector._sample_weights(contaminated, epoch=2)
    assert weights.shape == (len(contaminated),)
    assert float(weights[100:110].mean()) < float(weights.mean())
    assert detector._sample_weights(contaminated, epoch=0) is None  # warm-up


def test_unknown_backbone_is_refused(train_frame, test_frame):
    fit, val, _ = scaled_windows(train_frame, test_frame)
    with pytest.raises(ValueError, match="unknown TMAN backbone 'gru'"):
        registry.build(config(backbone="gru")).fit(fit, val)


def test_a_phase_gives_no_gradient_to_the_other_network(train_frame, test_frame):
    fit, val, _ = scaled_windows(train_frame, test_frame)
    detector = registry.build(config(epochs=1)).fit(fit, val)
    for module in detector.modules_.values():
        module.zero_grad(set_to_none=True)
    detector._phase_loss(torch.from_numpy(np.ascontiguousarray(fit[:64])), "g1", epoch=3).mean().backward()
    assert all(p.grad is not None for p in detector.modules_["g1"].parameters())
    assert all(p.grad is None for p in detector.modules_["g2"].parameters())
    assert all(p.requires_grad for p in detector.modules_["g2"].parameters())  # unfrozen after the phase


def test_a_bad_adversarial_weight_is_refused(train_frame, test_frame):
    fit, val, _ = scaled_windows(train_frame, test_frame)
    with pytest.raises(ValueError, match="adversarial_weight must be null"):
        registry.build(config(adversarial_weight=1.5)).fit(fit, val)
