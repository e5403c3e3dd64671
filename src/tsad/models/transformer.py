"""Transformer next-step predictor with Gaussian error scoring (../shared/docs/methods.md §3.2-3.4).

The seed repository ("Time-series-Anomaly-Detection-transformer", derived from chickenbestlover's
RNN-Time-series-Anomaly-Detection) predicts each step of a multivariate series from the steps before it and
scores the prediction error of every feature against a Gaussian fitted on training errors:

- Model (§3.2): ``Linear(F -> 32)`` embedding with dropout, sinusoidal positions, one causal
  ``TransformerEncoder`` layer (d_model 32, 8 heads, feed-forward 2048, dropout 0.1: PyTorch's defaults) under a
  square subsequent mask, dropout, ``Linear(32 -> F)``; optionally the input added to the output (residual).
- Training (§3.3): teacher-forced next-step prediction at every position, MSE; Adam with weight decay, gradient
  norm clipped at 10, step decay of the learning rate at the milestones; the training series is augmented with
  noise (up to 5 % of each channel's standard deviation).
- Scoring (§3.4): the prediction of a window's last step from the steps before it gives the error vector
  ``e ∈ R^F``; per feature ``s_f = ((e_f - μ_f) / σ_f)²`` with ``μ_f``, ``σ_f`` (+ 1e-5) the mean and standard
  deviation of the errors on training windows (or validation windows, ``error_fit``). These squared z-scores are
  the per-channel scores (``channel_scores``); the window score is their sum, the Mahalanobis distance of ``e``
  under the diagonal Gaussian. Thresholds (DistriTailNoise2Th per feature, OR-combined, in the seed) belong to the
  evaluation stage: ``threshold.per_channel`` in conf/base/parameters/methods/transformer.yml.

In our windowed setting a window of W rows is the seed's ``bptt = W - 1`` context plus the target: the score of a
window is the score of its last row, so the scoring stage maps window scores to timestamps with
``aggregation: last`` (each timestamp gets the score of the window that ends there).

Deviations, each a parameter or documented: the Gaussian is fitted on clean (not augmented) training windows of
the fitting part of the training data; noise augmentation draws a noise level per window and batch instead of
concatenating 100 noisy copies of the series; the validation split and early stopping come from the training
data (the seed computed its validation loss on the test set and kept a "best" copy chosen by it; it scored its
last-epoch model, which ``restore_best: false`` reproduces).

``PredictorConfig`` / ``PredictorDetector`` hold what the Transformer and the LSTM predictor (``lstm_predictor``)
share: optimiser, learning-rate steps, gradient clipping, augmentation, the error Gaussian's fitting data and the
per-channel scoring.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import nn

from tsad.models.training import NeuralConfig, NeuralDetector

_GAUSSIAN_PREFIX = "gaussian."  # state tensors of the error Gaussian, beside the modules' "<module>.<key>"


@dataclasses.dataclass
class PredictorConfig(NeuralConfig):
    """Options shared by the next-step predictors (defaults in conf/base/parameters/methods/{transformer,lstm}.yml).

    Attributes:
        embedding_size: Width of the linear input embedding (the seed's ``emsize``).
        dropout: Dropout after the embedding and before the output layer (the seed's ``--dropout``).
        residual: Add the input to the output (the seed's ``--res_connection``): the model predicts the change.
        weight_decay: Adam weight decay.
        grad_clip: Largest gradient norm (``clip_grad_norm_``); 0 turns clipping off.
        lr_milestones: Epochs (0-based) from which the learning rate is multiplied by ``lr_gamma`` once more
            (the seed's MultiStepLR, milestone 1000).
        lr_gamma: Learning-rate factor at each milestone.
        augment_noise: Training windows get ``x + r σ_c ε`` with ``r ~ U[0, augment_noise)`` per window,
            ``σ_c`` the channel's training standard deviation and ``ε ~ N(0, 1)`` (the seed concatenates copies of
            the series with noise ratios 0, 0.0005, ..., 0.0495); 0 turns augmentation off.
        error_fit: Windows whose prediction errors fit the error Gaussian: ``train`` (the seed) or ``validation``
            (held-out normal training data, errors the model has not been fitted to).
    """

    embedding_size: int = 32
    dropout: float = 0.2
    residual: bool = False
    weight_decay: float = 0.0
    grad_clip: float = 10.0
    lr_milestones: list[int] = dataclasses.field(default_factory=lambda: [1000])
    lr_gamma: float = 0.1
    augment_noise: float = 0.05
    error_fit: str = "train"
    epochs: int = 20  # the seed trains 1100 epochs of ~10 batches; ours are whole passes (~150 batches on SMD)


class PredictorDetector(NeuralDetector):
    """A next-step predictor scored by a Gaussian of its prediction errors, per channel (shared hooks)."""

    config: PredictorConfig
    channel_scored = True

    # --------------------------------------------------------------------------------------- subclass hooks
    def _check_geometry(self) -> None:
        """Refuse windows too short for the model (``window_`` and ``n_channels_`` are set)."""

    def _training_losses(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """Losses of a training batch by name; ``loss`` is minimised."""
        raise NotImplementedError

    def _errors(self, batch: torch.Tensor) -> torch.Tensor:
        """Prediction errors of each window's last row: (B, C) or (B, C, P)."""
        raise NotImplementedError

    def _fit_gaussian(self, windows: np.ndarray) -> dict[str, torch.Tensor]:
        """The error Gaussian's tensors, fitted on these windows' errors."""
        raise NotImplementedError

    def _channel_scores_of_errors(self, errors: torch.Tensor) -> torch.Tensor:
        """Per-channel scores (B, C) of prediction errors under the fitted Gaussian."""
        raise NotImplementedError

    # --------------------------------------------------------------------------------------- training
    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        c = self.config
        if c.error_fit not in ("train", "validation"):
            raise ValueError(f"error_fit must be 'train' or 'validation', got {c.error_fit!r}")
        if c.error_fit == "validation" and windows_val is None:
            raise ValueError("error_fit: validation needs validation windows (held-out normal training data)")
        if c.augment_noise < 0:
            raise ValueError(f"augment_noise must be >= 0, got {c.augment_noise}")
        self._check_geometry()
        # Each channel's spread over the training rows (every window's last row: each row once, but the first W - 1).
        self.noise_scale_ = torch.from_numpy(np.asarray(windows_train[:, -1, :], dtype=np.float64).std(axis=0)
                                             ).float().to(self.device_)
        super()._fit(windows_train, windows_val)
        for module in self.modules_.values():
            module.eval()
        self.gaussian_ = self._fit_gaussian(windows_train if c.error_fit == "train" else windows_val)

    def _configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        parameters = [p for module in self.modules_.values() for p in module.parameters()]
        return {"adam": torch.optim.Adam(parameters, lr=self.config.learning_rate,
                                         weight_decay=self.config.weight_decay)}

    def _train_step(self, batch: torch.Tensor, weights: torch.Tensor | None, epoch: int) -> dict[str, float]:
        c = self.config
        optimizer = self.optimizers_["adam"]
        for group in optimizer.param_groups:
            group["lr"] = self._learning_rate(epoch)
        if c.augment_noise > 0:  # torch's generator is seeded per epoch by the shared loop: resumable
            level = torch.rand(len(batch), 1, 1, device=batch.device) * c.augment_noise
            batch = batch + level * self.noise_scale_ * torch.randn_like(batch)
        optimizer.zero_grad(set_to_none=True)
        losses = self._training_losses(batch)
        losses["loss"].backward()
        if c.grad_clip > 0:
            nn.utils.clip_grad_norm_([p for m in self.modules_.values() for p in m.parameters()], c.grad_clip)
        optimizer.step()
        return {name: float(value.detach()) for name, value in losses.items()}

    def _learning_rate(self, epoch: int) -> float:
        """MultiStepLR as a function of the epoch, so that a resumed run gets the same rate without scheduler state."""
        c = self.config
        return c.learning_rate * c.lr_gamma ** sum(epoch >= m for m in c.lr_milestones)

    # --------------------------------------------------------------------------------------- error Gaussian
    def _error_batches(self, windows: np.ndarray):
        """Prediction errors of the windows' last rows, batch by batch (eval mode, no gradients)."""
        step = self.config.score_batch_size
        with torch.inference_mode():
            for start in range(0, len(windows), step):
                batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + step], dtype=np.float32))
                yield self._errors(batch.to(self.device_)).double()

    # --------------------------------------------------------------------------------------- scoring
    def _channel_score_windows(self, windows: np.ndarray) -> np.ndarray:
        for module in self.modules_.values():
            module.eval()
        return super()._channel_score_windows(windows)

    def _channel_score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return self._channel_scores_of_errors(self._errors(batch))

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        return self._channel_score_batch(batch).sum(dim=1)

    def prediction_errors(self, windows: np.ndarray) -> np.ndarray:
        """Prediction errors (prediction - truth) of each window's last row, (B, C) or (B, C, P), float64."""
        if not hasattr(self, "gaussian_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        for module in self.modules_.values():
            module.eval()
        return torch.cat(list(self._error_batches(windows))).cpu().numpy()

    # --------------------------------------------------------------------------------------- state
    def _state_tensors(self) -> dict[str, torch.Tensor]:
        gaussian = {f"{_GAUSSIAN_PREFIX}{k}": v.detach().cpu() for k, v in self.gaussian_.items()}
        return super()._state_tensors() | gaussian

    def _load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.gaussian_ = {k[len(_GAUSSIAN_PREFIX):]: v for k, v in tensors.items() if k.startswith(_GAUSSIAN_PREFIX)}
        super()._load_state_tensors({k: v for k, v in tensors.items() if not k.startswith(_GAUSSIAN_PREFIX)})


def next_step_mse(predictions: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Per-window mean squared error of next-step predictions (B, W - 1, C) against rows 1 .. W - 1."""
    return (predictions - batch[:, 1:]).square().mean(dim=(1, 2))


# ------------------------------------------------------------------------------------------------ Transformer
@dataclasses.dataclass
class TransformerConfig(PredictorConfig):
    """Transformer predictor options (defaults documented in conf/base/parameters/methods/transformer.yml).

    Attributes:
        heads: Attention heads (the embedding size must be a multiple).
        layers: Encoder layers.
        feedforward_size: Width of each layer's feed-forward block (PyTorch's default, as the seed).
        attention_dropout: Dropout inside the encoder layers (PyTorch's default, as the seed).
        max_len: Longest context the sinusoidal positions cover (the seed's 5000).
        std_epsilon: Added to each error standard deviation (the seed's 1e-5).
    """

    batch_size: int = 128  # the seed's README command (also: learning rate 0.002, no weight decay)
    learning_rate: float = 0.002
    heads: int = 8
    layers: int = 1
    feedforward_size: int = 2048
    attention_dropout: float = 0.1
    max_len: int = 5000
    std_epsilon: float = 1e-5


class CausalTransformerPredictor(nn.Module):
    """Embedding, sinusoidal positions, a causal Transformer encoder and a linear read-out (seq-last-step aware)."""

    def __init__(self, channels: int, *, embedding: int, heads: int, layers: int, feedforward: int, dropout: float,
                 attention_dropout: float, residual: bool, max_len: int):
        super().__init__()
        self.residual = residual
        self.encoder = nn.Linear(channels, embedding)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(embedding, heads, dim_feedforward=feedforward, dropout=attention_dropout,
                                           batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.decoder = nn.Linear(embedding, channels)
        self.register_buffer("positions", sinusoidal_positions(max_len, embedding), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Next-step predictions (B, L, C) of inputs (B, L, C): output ``i`` predicts row ``i + 1`` from rows <= i."""
        length = x.shape[1]
        if length > len(self.positions):
            raise ValueError(f"a context of {length} steps exceeds max_len={len(self.positions)}")
        emb = self.drop(self.encoder(x)) + self.positions[:length]  # the seed adds positions after the dropout
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=x.device, dtype=emb.dtype)
        out = self.decoder(self.drop(self.transformer(emb, mask=mask, is_causal=True)))
        return out + x if self.residual else out


def sinusoidal_positions(length: int, size: int) -> torch.Tensor:
    """Vaswani et al.'s positions: sin on even, cos on odd features, wavelengths 2π .. 10000·2π; (length, size)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, size, 2, dtype=torch.float32) * (-math.log(10000.0) / size))
    table = torch.zeros(length, size)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : size // 2]
    return table


class TransformerDetector(PredictorDetector):
    """Causal Transformer next-step predictor; per-feature squared z-scores of the last row's prediction error."""

    name = "transformer"
    config_class = TransformerConfig
    config: TransformerConfig

    @classmethod
    def test_config(cls) -> TransformerConfig:
        return TransformerConfig(device="cpu", epochs=2, batch_size=64, feedforward_size=64, progress=False,
                                 learning_rate=0.002)

    def _check_geometry(self) -> None:
        if self.window_ < 2:
            raise ValueError(f"the transformer predicts each window's last row from the rows before it: windows of "
                             f"{self.window_} row(s) leave nothing to predict from; set windowing.window >= 2")
        if self.config.embedding_size % self.config.heads:
            raise ValueError(f"embedding_size {self.config.embedding_size} must be a multiple of heads "
                             f"{self.config.heads}")

    def _build(self) -> dict[str, nn.Module]:
        return {"transformer": self._network(self.n_channels_)}

    def _network(self, channels: int) -> CausalTransformerPredictor:
        """The configured predictor of ``channels`` channels (the VFL server's are the parties' embeddings)."""
        c = self.config
        return CausalTransformerPredictor(
            channels, embedding=c.embedding_size, heads=c.heads, layers=c.layers,
            feedforward=c.feedforward_size, dropout=c.dropout, attention_dropout=c.attention_dropout,
            residual=c.residual, max_len=c.max_len)

    def _predict(self, batch: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-step predictions (B, W - 1, C) of rows 1 .. W - 1."""
        return self.modules_["transformer"](batch[:, :-1])

    def _training_losses(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": next_step_mse(self._predict(batch), batch).mean()}

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        return next_step_mse(self._predict(batch), batch)

    def _errors(self, batch: torch.Tensor) -> torch.Tensor:
        return self._predict(batch)[:, -1] - batch[:, -1]

    def _fit_gaussian(self, windows: np.ndarray) -> dict[str, torch.Tensor]:
        if len(windows) < 2:
            raise ValueError("the error Gaussian needs at least 2 windows")
        count, total, squares = 0, 0.0, 0.0
        for errors in self._error_batches(windows):  # streamed sums in float64: no (N, C) array is kept
            count += len(errors)
            total = total + errors.sum(dim=0)
            squares = squares + errors.square().sum(dim=0)
        mean = total / count
        std = ((squares - count * mean.square()).clamp_min(0) / (count - 1)).sqrt()  # unbiased, as torch.std
        return {"mean": mean, "std": std + self.config.std_epsilon}  # float64

    def _channel_scores_of_errors(self, errors: torch.Tensor) -> torch.Tensor:
        return squared_z_scores(errors, self.gaussian_["mean"], self.gaussian_["std"])

    def next_step_predictions(self, windows: np.ndarray) -> np.ndarray:
        """Teacher-forced predictions (B, W - 1, C) of each window's rows 1 .. W - 1 (row i + 1 from rows <= i)."""
        for module in self.modules_.values():
            module.eval()
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)).to(self.device_)
            return self._predict(batch).double().cpu().numpy()


def squared_z_scores(errors: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Per-feature ``((e - μ) / σ)²`` (the seed's ``anomalyScore_transformer``); (B, C)."""
    return ((errors - mean) / std).square()

