"""MGAN: the layer sizes for any F, the fixed defects, detection of broken couplings, determinism and resume."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import interrupt_training

from tsad.core.metrics import roc_auc
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.mgan import CosineCritic, CosineGenerator, MganDetector, conv_layout
from tsad.models.training import TrainingDivergedError, checkpoint_files


@pytest.mark.parametrize(("channels", "flat", "sizes"), [
    (51, 2304, [51, 25, 12, 6, 3]),  # the SWaT folder's model.py: 256 x 3 x 3, G_C 3 -> 6 -> 12 -> 25 -> 51
    (37, 1024, [37, 18, 8, 4, 2]),
    (77, 4096, [77, 38, 18, 9, 4]),
    (5, 16 * 4, [5, 2]),
])
def test_layer_sizes_follow_the_channel_count(channels, flat, sizes):
    layout = conv_layout(channels)
    assert [channels] + [size for _, _, size, _ in layout] == sizes
    assert layout[-1][1] * layout[-1][2] ** 2 == flat
    matrices = torch.rand(2, 1, channels, channels)
    assert CosineCritic(layout, 100, 1)(matrices).shape == (2, 1)
    assert CosineGenerator(layout)(torch.randn(2, 40)).shape == (2, 1, channels, channels)


def coupling_series(n: int, seed: int, broken: list[tuple[int, int]]) -> pd.DataFrame:
    """Six z-scored channels (the paper's scaling, methods.md §2.4): channel 1 follows channel 0 (and 4 follows 3)
    except inside ``broken`` spans, where it runs in antiphase; every value stays within its normal range, only the
    coupling changes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    amplitude = np.sqrt(2)  # unit variance
    values = np.empty((n, 6))
    values[:, 0] = amplitude * np.sin(2 * np.pi * t / 30)
    values[:, 1] = values[:, 0]
    values[:, 2] = amplitude * np.sin(2 * np.pi * t / 47 + 1.0)
    values[:, 3] = amplitude * np.cos(2 * np.pi * t / 23)
    values[:, 4] = values[:, 3]
    values[:, 5] = amplitude * np.sin(2 * np.pi * t / 61 + 2.0)
    labels = np.zeros(n, dtype=np.int8)
    for start, length in broken:
        values[start:start + length, 1] = -values[start:start + length, 0]
        labels[start:start + length] = 1
    values += rng.normal(0, 0.07, values.shape)
    frame = pd.DataFrame(values.astype(np.float32), columns=[f"c{i}" for i in range(6)],
                         index=pd.date_range("2021-01-01", periods=n, freq="s", name="timestamp"))
    frame["label"] = labels
    return frame


@pytest.fixture(scope="module")
def coupling_windows():
    train = WindowedSeries.from_frame(coupling_series(2400, 0, []).drop(columns="label"), 16)
    test = WindowedSeries.from_frame(coupling_series(1600, 1, [(300, 80), (800, 60), (1300, 90)]), 16)
    return train.windows[:1900], train.windows[1900:], test


def config(**options):
    return {"method": "mgan", "device": "cpu", "epochs": 10, "encoder_epochs": 3, "batch_size": 64, "critic_steps": 3,
            "progress": False, "seed": 3} | options


def test_mgan_finds_broken_couplings_the_random_control_does_not(coupling_windows):
    fit, val, test = coupling_windows
    mgan = registry.build(config()).fit(fit, val)
    control = registry.build({"method": "random", "seed": 1}).fit(fit)
    labels = test.window_labels
    mgan_auc = roc_auc(labels, mgan.decision_function(test.windows))
    control_auc = roc_auc(labels, control.decision_function(test.windows))
    assert mgan_auc > 0.8 and mgan_auc > control_auc + 0.25, (mgan_auc, control_auc)


def test_same_seed_same_scores(coupling_windows):
    fit, val, test = coupling_windows
    options = config(epochs=2, encoder_epochs=1, threads=1)
    first = registry.build(options).fit(fit, val).decision_function(test.windows)
    second = registry.build(options).fit(fit, val).decision_function(test.windows)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(("step", "moves"), [("own_optimizer", True), ("cnn_optimizer", False)])
def test_the_window_generator_learns_in_the_adversarial_stage(coupling_windows, step, moves):
    """The public code steps G_C's optimizer for G_R's loss, so G_R never learns; here it has its own."""
    fit, val, _ = coupling_windows
    untrained = MganDetector.from_params(config(epochs=2, encoder_epochs=1, generator_rnn_step=step))
    untrained.window_, untrained.n_channels_, untrained.device_ = fit.shape[1], fit.shape[2], "cpu"
    torch.manual_seed(untrained.config.seed)
    before = {k: v.clone() for k, v in untrained._build()["generator_rnn"].state_dict().items()}
    trained = MganDetector.from_params(config(epochs=2, encoder_epochs=1, generator_rnn_step=step)).fit(fit, val)
    after = trained.modules_["generator_rnn"].state_dict()
    changed = any(not torch.equal(before[k], after[k]) for k in before)
    assert changed is moves


def test_an_interrupted_run_resumes_with_the_same_result(coupling_windows, tmp_path, monkeypatch):
    fit, val, test = coupling_windows
    options = config(epochs=3, encoder_epochs=1, threads=1)
    whole = registry.build(options | {"checkpoint_dir": str(tmp_path / "a")}).fit(fit, val)
    interrupted = registry.build(options | {"checkpoint_dir": str(tmp_path / "b")})
    interrupt_training(monkeypatch, MganDetector, lambda: interrupted.fit(fit, val), epoch=2)
    assert torch.load(checkpoint_files(tmp_path / "b")[0], weights_only=True)["epoch"] == 2
    resumed = registry.build(options | {"checkpoint_dir": str(tmp_path / "b")}).fit(fit, val)
    np.testing.assert_array_equal(resumed.decision_function(test.windows), whole.decision_function(test.windows))


def test_the_score_rises_with_the_critic_term_sign_fixed(coupling_windows):
    fit, val, test = coupling_windows
    detector = registry.build(config(epochs=2, encoder_epochs=1, score_lambda=1.0)).fit(fit, val)
    batch = torch.from_numpy(np.ascontiguousarray(test.windows[:32]))
    with torch.no_grad():
        critic = detector.modules_["critic"](detector.window_views(batch)["cosine"].unsqueeze(1)).squeeze(1)
    np.testing.assert_allclose(detector.decision_function(test.windows[:32]), -critic.double().numpy(), rtol=1e-5)


def test_too_few_channels_are_refused():
    with pytest.raises(ValueError, match="needs at least 3"):
        registry.build(config()).fit(np.zeros((64, 16, 2), np.float32))


def test_a_critic_loss_that_becomes_nan_stops_training_naming_the_epoch(coupling_windows, monkeypatch):
    fit, val, _ = coupling_windows
    forward = CosineCritic.forward
    monkeypatch.setattr(CosineCritic, "forward", lambda self, matrices: forward(self, matrices) * float("nan"))
    with pytest.raises(TrainingDivergedError, match=r"the training loss loss became nan in epoch 1 \(batch 1\)"):
        registry.build(config()).fit(fit, val)


def test_an_epoch_draws_epoch_windows_different_ones_each_epoch(coupling_windows, monkeypatch):
    fit, val, _ = coupling_windows
    seen: list[list[bytes]] = []
    train_step = MganDetector._train_step

    def counting_step(self, batch, weights, epoch):
        while len(seen) <= epoch:
            seen.append([])
        seen[epoch] += [window.numpy().tobytes() for window in batch]
        return train_step(self, batch, weights, epoch)

    monkeypatch.setattr(MganDetector, "_train_step", counting_step)
    registry.build(config(epochs=2, encoder_epochs=1, epoch_windows=300)).fit(fit, val)
    assert [len(epoch) for epoch in seen] == [300, 300]
    assert len(set(seen[0])) == 300 and set(seen[0]) != set(seen[1])
