"""LSTM multi-step predictor with Mahalanobis scoring of multi-step errors (../shared/docs/methods.md §3.5).

The LSTM path of the seed repository and of chickenbestlover's RNN-Time-series-Anomaly-Detection (Malhotra et al.,
ESANN 2015):

- Model: ``Linear(F -> 32)`` embedding with dropout, a 2-layer LSTM (32 units, dropout between layers), dropout,
  ``Linear(32 -> F)``; optionally the input added to the output (residual).
- Training: teacher-forced next-step prediction, MSE (the seed's script; chickenbestlover adds a free-running
  loss and a simplified professor-forcing loss on the hidden states: ``free_running_loss``,
  ``professor_forcing_loss``). Adam(lr 2e-4, weight decay 1e-4), gradient norm clipped at 10.
- Multi-step errors: from each origin ``s`` the model, having read the true rows up to ``s``, rolls out
  recursively (feeding its own predictions) and predicts ``x_{s+1} .. x_{s+P}`` (P = ``prediction_window``).
  Row ``t`` then has P predictions, made from the origins ``t - P .. t - 1``, and per channel ``c`` the error
  vector ``e_t^c = [p_{t-P+j}[P-1-j] - x_t^c]_{j=0..P-1} ∈ R^P``.
- Scoring: per channel, ``μ_c ∈ R^P`` and ``Σ_c = E[e eᵀ] - μ_c μ_cᵀ`` of the errors on training (or validation,
  ``error_fit``) windows; ``s_t^c = (e_t^c - μ_c)ᵀ Σ_c⁻¹ (e_t^c - μ_c)``. These are the per-channel scores; the
  window score is their sum. The seed thresholds each channel with DistriTailNoise2Th and ORs the flags
  (``threshold.per_channel`` in conf/base/parameters/methods/lstm.yml).

The hidden state, "carried forward": the original scorer reads the whole series one row at a time from t = 0,
keeps the state after each *true* row (``pasthidden``) and branches every roll-out off it, so an origin's state
summarises the entire history (the repository's non-VFL scorer resets the state at every origin instead, which
reduces the LSTM to a one-row context: not reproduced). Here a window of W rows is scored on its own, its last row
being ``t``: the state starts at zero on the window's first row, is carried through the true rows (teacher
forcing), and each of the P origins ``t - P .. t - 1`` branches its roll-out off the state it reached, exactly as
the original does from the series start. So the score of a window equals the original's score of row ``t`` when
the series starts at the window's first row (tested), and the oldest origin has read ``W - P`` rows. Training
windows start from a zero state too, so training and scoring see the same kind of state; a longer
``windowing.window`` gives the origins a longer history. Windows need ``W >= P + 1``.

Σ is inverted with a small ridge relative to its mean variance (``covariance_ridge``): errors of neighbouring
origins are strongly correlated, and the seed's plain inverse fails when Σ is singular.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from tsad.models.transformer import PredictorConfig, PredictorDetector, next_step_mse


@dataclasses.dataclass
class LstmConfig(PredictorConfig):
    """LSTM predictor options (defaults documented in conf/base/parameters/methods/lstm.yml).

    Attributes:
        hidden_size: LSTM units per layer (the seed's ``nhid``).
        num_layers: LSTM layers (the seed's ``nlayers``).
        prediction_window: Roll-out length P: each row is predicted from the P origins before it.
        free_running_loss: Add the free-running loss (roll out from the first row on the model's own predictions).
        professor_forcing_loss: Add the simplified professor-forcing loss (MSE between the free-running and the
            detached teacher-forced LSTM outputs); needs the free-running roll-out, which it computes.
        covariance_ridge: Σ + ridge · mean(diag Σ) · I is inverted (plus 1e-12 so a zero Σ stays invertible).

    Early stopping watches the teacher-forced next-step MSE of held-out normal training windows, never the test set
    (the seed used the test set); ``restore_best: false`` with ``patience: 0`` gives the seed's last-epoch model.
    """

    batch_size: int = 64  # the seed's training script (also: learning rate 2e-4, weight decay 1e-4)
    learning_rate: float = 0.0002
    weight_decay: float = 0.0001
    hidden_size: int = 32
    num_layers: int = 2
    prediction_window: int = 10
    free_running_loss: bool = False
    professor_forcing_loss: bool = False
    covariance_ridge: float = 1e-6


class LstmPredictorNet(nn.Module):
    """Embedding, LSTM and read-out; returns the predictions, the final state and the LSTM outputs."""

    def __init__(self, channels: int, *, embedding: int, hidden: int, layers: int, dropout: float, residual: bool):
        super().__init__()
        self.residual = residual
        self.encoder = nn.Linear(channels, embedding)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.LSTM(embedding, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Predictions (B, L, C) of the next rows, the state after the last row, and the LSTM outputs (B, L, H)."""
        out, state = self.rnn(self.drop(self.encoder(x)), state)
        out = self.drop(out)
        prediction = self.decoder(out)
        return (prediction + x if self.residual else prediction), state, out


class LstmPredictorDetector(PredictorDetector):
    """LSTM next-step predictor; per-channel Mahalanobis distance of the last row's multi-step errors."""

    name = "lstm"
    config_class = LstmConfig
    config: LstmConfig

    @classmethod
    def test_config(cls) -> LstmConfig:
        return LstmConfig(device="cpu", epochs=2, batch_size=64, prediction_window=4, progress=False,
                          learning_rate=0.005, weight_decay=0.0)

    def _check_geometry(self) -> None:
        p = self.config.prediction_window
        if p < 1:
            raise ValueError(f"prediction_window must be >= 1, got {p}")
        if self.window_ < p + 1:
            raise ValueError(f"the LSTM predictor predicts each window's last row from {p} origins before it "
                             f"(prediction_window): windows need at least {p + 1} rows, got {self.window_}; set "
                             "windowing.window or lower prediction_window")

    def _build(self) -> dict[str, nn.Module]:
        return {"lstm": self._network(self.n_channels_)}

    def _network(self, channels: int) -> LstmPredictorNet:
        """The configured predictor of ``channels`` channels (the VFL server's are the parties' embeddings)."""
        c = self.config
        return LstmPredictorNet(channels, embedding=c.embedding_size, hidden=c.hidden_size, layers=c.num_layers,
                                dropout=c.dropout, residual=c.residual)

    # ------------------------------------------------------------------------------------------- training
    def _training_losses(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.config
        net = self.modules_["lstm"]
        predictions, _, teacher_outputs = net(batch[:, :-1])
        losses = {"teacher_forcing": next_step_mse(predictions, batch).mean()}
        if c.free_running_loss or c.professor_forcing_loss:
            free, free_outputs = self._free_run(batch)
            if c.free_running_loss:
                losses["free_running"] = next_step_mse(free, batch).mean()
            if c.professor_forcing_loss:
                losses["professor_forcing"] = (free_outputs - teacher_outputs.detach()).square().mean()
        losses["loss"] = sum(losses.values())
        return losses

    def _free_run(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """From the first row, W - 1 steps on the model's own predictions: predictions and LSTM outputs."""
        net = self.modules_["lstm"]
        value, state, predictions, outputs = batch[:, :1], None, [], []
        for _ in range(batch.shape[1] - 1):
            value, state, out = net(value, state)
            predictions.append(value)
            outputs.append(out)
        return torch.cat(predictions, dim=1), torch.cat(outputs, dim=1)

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        return next_step_mse(self.modules_["lstm"](batch[:, :-1])[0], batch)

    # ------------------------------------------------------------------------------------------- multi-step errors
    def _rollouts(self, batch: torch.Tensor) -> torch.Tensor:
        """The P predictions (B, P, C) of each window's last row, from origins ``t - P`` (j = 0) .. ``t - 1``.

        The state is carried through the window's true rows; every origin's roll-out branches off the state it
        reached. The roll-outs of all origins run together, the finished ones dropping out: origin j reaches the
        last row after P - 1 - j further steps.
        """
        net = self.modules_["lstm"]
        p = self.config.prediction_window
        n, width = batch.shape[0], batch.shape[1]
        first = width - p  # rows 0 .. first - 1 are read before the oldest origin's first prediction
        prediction, state, _ = net(batch[:, :first])
        heads, hs, cs = [prediction[:, -1]], [state[0]], [state[1]]
        for row in range(first, width - 1):  # origins t - P + 1 .. t - 1, one true row each
            prediction, state, _ = net(batch[:, row:row + 1], state)
            heads.append(prediction[:, -1])
            hs.append(state[0])
            cs.append(state[1])
        current = torch.stack(heads, dim=1)  # (B, P, C): each origin's prediction of the row after it
        h, c = torch.stack(hs, dim=2), torch.stack(cs, dim=2)  # (layers, B, P, H)
        out = torch.empty_like(current)
        out[:, p - 1] = current[:, p - 1]  # origin t - 1 predicts t directly
        layers, hidden = h.shape[0], h.shape[-1]
        for step in range(1, p):
            active = p - step  # origins 0 .. active - 1 still roll out
            value = current[:, :active].reshape(n * active, 1, -1)
            state = (h[:, :, :active].reshape(layers, n * active, hidden).contiguous(),
                     c[:, :, :active].reshape(layers, n * active, hidden).contiguous())
            value, (h_next, c_next), _ = net(value, state)
            current = value.reshape(n, active, -1)
            h, c = h_next.reshape(layers, n, active, hidden), c_next.reshape(layers, n, active, hidden)
            out[:, active - 1] = current[:, active - 1]
        return out

    def _errors(self, batch: torch.Tensor) -> torch.Tensor:
        """Multi-step errors (B, C, P): prediction minus the last row, per channel and origin."""
        return (self._rollouts(batch) - batch[:, -1:, :]).transpose(1, 2)

    def _fit_gaussian(self, windows: np.ndarray) -> dict[str, torch.Tensor]:
        if len(windows) < 2:
            raise ValueError("the error Gaussian needs at least 2 windows")
        count, total, outer = 0, 0.0, 0.0
        for errors in self._error_batches(windows):  # (B, C, P) in float64; streamed sums
            count += len(errors)
            total = total + errors.sum(dim=0)
            outer = outer + torch.einsum("bcp,bcq->cpq", errors, errors)
        mean = total / count
        covariance = outer / count - torch.einsum("cp,cq->cpq", mean, mean)  # E[eeᵀ] - μμᵀ, as the seed
        return {"mean": mean, "covariance": covariance,  # float64: Σ⁻¹ of near-collinear errors needs it
                "precision": regularised_inverse(covariance, self.config.covariance_ridge)}

    def _channel_scores_of_errors(self, errors: torch.Tensor) -> torch.Tensor:
        return mahalanobis(errors, self.gaussian_["mean"], self.gaussian_["precision"])

    def rollout_predictions(self, windows: np.ndarray) -> np.ndarray:
        """The P predictions (B, P, C) of each window's last row, from the P origins before it (oldest first)."""
        for module in self.modules_.values():
            module.eval()
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)).to(self.device_)
            return self._rollouts(batch).double().cpu().numpy()


def regularised_inverse(covariance: torch.Tensor, ridge: float) -> torch.Tensor:
    """Inverse of each (P, P) covariance with ``ridge · mean(diag) + 1e-12`` added to the diagonal; (..., P, P)."""
    if ridge < 0:
        raise ValueError(f"covariance_ridge must be >= 0, got {ridge}")
    covariance = covariance.double()
    size = covariance.shape[-1]
    shift = ridge * torch.diagonal(covariance, dim1=-2, dim2=-1).mean(dim=-1) + 1e-12
    eye = torch.eye(size, dtype=covariance.dtype, device=covariance.device)
    return torch.linalg.inv(covariance + shift[..., None, None] * eye)


def mahalanobis(errors: torch.Tensor, mean: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """Per-channel squared Mahalanobis distances ``(e - μ)ᵀ Σ⁻¹ (e - μ)``.

    Args:
        errors: (B, C, P) error vectors.
        mean: (C, P) means.
        precision: (C, P, P) inverse covariances.

    Returns:
        (B, C), clipped at 0 against rounding (the seed sets negative scores to 0).
    """
    centred = errors.double() - mean.double()
    return torch.einsum("bcp,cpq,bcq->bc", centred, precision.double(), centred).clamp_min(0)
