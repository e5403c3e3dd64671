"""TMAN (TMANomaly): time-series mutual adversarial networks (Zhang et al., IEEE TII 20(2), 2024).

The paper's text and code are not public (../shared/docs/methods.md §1); this follows the recommended
reading there, with every open choice a parameter:

- Two identical autoencoders G1 and G2 reconstruct normal windows x (min-max scaled, so the decoders end in a
  sigmoid). The backbone is USAD's fully connected layers over the flattened window by default, or an LSTM
  seq2seq or a dilated temporal-convolution network (``backbone``).
- Mutual adversarial training, USAD's two-phase objective (Audibert et al., KDD 2020, Eqs. 11-12) made
  symmetric, with w the adversarial weight:
    L_G1 = (1 - w) ||x - G1(x)||² + w ||x - G2(G1(x))||² - w ||x - G1(G2(x))||²
    L_G2 = (1 - w) ||x - G2(x)||² + w ||x - G1(G2(x))||² - w ||x - G2(G1(x))||²
  Each network learns to reconstruct, to produce outputs the other reconstructs well (fool it), and to
  reconstruct the other's outputs badly (expose it). USAD sets w = 1 - 1/n in epoch n; that schedule drives the
  reconstruction apart, so w is fixed (0.1) by default and the schedule is ``adversarial_weight: null``
  (docs/tman_ablation.md). ``symmetric: false`` gives USAD's one-way pair (G1 fools, G2 exposes). The two losses
  are minimised alternately per batch with two optimizers.
- Score (weighted residuals, USAD Eq. 13 made symmetric):
    s(x) = α (||x - G1(x)||² + ||x - G2(x)||²) / 2 + β (||x - G2(G1(x))||² + ||x - G1(G2(x))||²) / 2.
- Anomaly suppression in training (MANomaly's "high anomaly suppression", an assumption): after a warm-up,
  windows whose current score exceeds a quantile of the training scores are down-weighted (weight
  quantile / score) or clipped out (weight 0) of the loss, so that contamination in training data is not
  learnt.
- The anomaly determination mechanism (threshold on held-out normal windows, k-sigma / quantile / POT, and
  a persistence rule) is the evaluation stage's, configured per experiment (conf/base/parameters/methods/
  tman.yml); grey relational selection runs before it in the data pipeline, as in the seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from tsad.models.training import NeuralConfig, NeuralDetector


@dataclasses.dataclass
class TmanConfig(NeuralConfig):
    """TMAN options (defaults documented in conf/base/parameters/methods/tman.yml).

    Attributes:
        backbone: ``dense`` (USAD's fully connected autoencoder of the flattened window), ``lstm`` (recurrent
            seq2seq) or ``tcn`` (dilated temporal convolutions).
        hidden_size: Width of the recurrent or convolutional layers.
        latent_size: Size of the code each window is compressed to.
        num_layers: Recurrent layers (lstm) or dilated blocks (tcn) in the encoder and in the decoder.
        dropout: Dropout between layers.
        symmetric: Mutual (both networks fool and expose) or USAD's one-way pair.
        adversarial_weight: Weight w of the adversarial terms against 1 - w for the reconstruction: None follows
            USAD's schedule w = 1 - 1/n over epochs n; a number in [0, 1] fixes it (0: two plain autoencoders).
        sigmoid_output: End the decoders in a sigmoid (min-max scaled data); false for z-scored data.
        alpha: Weight of the direct reconstruction residual in the score.
        beta: Weight of the adversarial (cross) reconstruction residual in the score.
        suppression: ``none``, ``downweight`` or ``clip`` of high-residual training windows.
        suppression_quantile: Training-score quantile above which windows are suppressed.
        suppression_warmup: Epochs trained on all windows before suppression starts.
        score_batch_size: Windows scored at once; 512 keeps the dense layers' activations in cache.
    """

    backbone: str = "dense"
    hidden_size: int = 64
    latent_size: int = 32
    num_layers: int = 1
    dropout: float = 0.0
    symmetric: bool = True
    adversarial_weight: float | None = 0.1
    sigmoid_output: bool = True
    alpha: float = 0.5
    beta: float = 0.5
    suppression: str = "none"
    suppression_quantile: float = 0.99
    suppression_warmup: int = 3
    score_batch_size: int = 512
    epochs: int = 10
    # No early stopping by default: as in USAD, the adversarial terms grow the validation reconstruction error on
    # purpose, so stopping on it would keep a plain autoencoder; patience > 0 with restore_best uses it.
    patience: int = 0
    restore_best: bool = False


class TmanDetector(NeuralDetector):
    """Two temporal autoencoders trained by mutual adversarial learning; score from weighted residuals."""

    name = "tman"
    config_class = TmanConfig
    config: TmanConfig

    @classmethod
    def test_config(cls) -> TmanConfig:
        return TmanConfig(device="cpu", epochs=2, batch_size=64, hidden_size=16, latent_size=8, progress=False)

    def _build(self) -> dict[str, nn.Module]:
        c = self.config
        if c.backbone not in _BACKBONES:
            raise ValueError(f"unknown TMAN backbone {c.backbone!r}; use one of {sorted(_BACKBONES)}")
        if c.adversarial_weight is not None and not 0 <= c.adversarial_weight <= 1:
            raise ValueError(f"adversarial_weight must be null (USAD's 1 - 1/n) or in [0, 1], "
                             f"got {c.adversarial_weight}")
        if c.suppression not in {"none", "downweight", "clip"}:
            raise ValueError(f"unknown suppression {c.suppression!r}; use none, downweight or clip")
        make = _BACKBONES[c.backbone]
        return {name: _Output(make(self.n_channels_, self.window_, hidden=c.hidden_size, latent=c.latent_size,
                                   layers=c.num_layers, dropout=c.dropout), c.sigmoid_output)
                for name in ("g1", "g2")}

    def _configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        lr = self.config.learning_rate
        return {name: torch.optim.Adam(module.parameters(), lr=lr) for name, module in self.modules_.items()}

    def _residuals(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-window mean squared residuals of the four reconstructions."""
        g1, g2 = self.modules_["g1"], self.modules_["g2"]
        r1, r2 = g1(x), g2(x)
        return {"r1": _mse(x, r1), "r2": _mse(x, r2), "r12": _mse(x, g2(r1)), "r21": _mse(x, g1(r2))}

    def _adversarial_weight(self, epoch: int) -> float:
        fixed = self.config.adversarial_weight
        return 1 - 1 / (epoch + 1) if fixed is None else float(fixed)  # USAD Eqs. 11-12, n = epoch + 1

    def _phase_loss(self, x: torch.Tensor, name: str, epoch: int) -> torch.Tensor:
        """Per-window loss of network ``name`` (g1 or g2), computing only what reaches its gradient.

        The other network is frozen: its parameters get no gradients (its optimizer does not step in this phase),
        though gradients still flow through it to ``name``'s output, and what depends on it alone needs no graph.
        The gradients equal those of the full losses in the module docstring.
        """
        me, other = self.modules_[name], self.modules_["g2" if name == "g1" else "g1"]
        w = self._adversarial_weight(epoch)
        mine = me(x)
        reconstruction = _mse(x, mine)
        if w == 0:
            return reconstruction
        if not self.config.symmetric and name == "g2":  # USAD: G2 exposes G1, reconstructing G1(x) badly
            with torch.no_grad():
                first = other(x)
            return (1 - w) * reconstruction - w * _mse(x, me(first))
        other.requires_grad_(False)
        try:
            fooled = _mse(x, other(mine))  # my output, reconstructed by the other network: to be small
        finally:
            other.requires_grad_(True)
        if not self.config.symmetric:  # USAD: G1 fools G2
            return (1 - w) * reconstruction + w * fooled
        with torch.no_grad():
            theirs = other(x)
        exposed = _mse(x, me(theirs))  # the other's output, reconstructed by me: to be large
        return (1 - w) * reconstruction + w * (fooled - exposed)

    def _train_step(self, batch: torch.Tensor, weights: torch.Tensor | None, epoch: int) -> dict[str, float]:
        out = {}
        for name in ("g1", "g2"):  # two phases per batch, as USAD's training(): each on fresh forward passes
            optimizer = self.optimizers_[name]
            optimizer.zero_grad(set_to_none=True)
            per_window = self._phase_loss(batch, name, epoch)
            loss = per_window.mean() if weights is None else (per_window * weights).sum() / weights.sum()
            loss.backward()
            optimizer.step()
            out[f"loss_{name}"] = loss.item()
        out["loss"] = (out["loss_g1"] + out["loss_g2"]) / 2
        return out

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        # Early stopping watches how well held-out normal windows are reconstructed. Not the score: its cross
        # terms grow on purpose as each network learns to expose the other's outputs (USAD does the same).
        res = self._residuals(batch)
        return (res["r1"] + res["r2"]) / 2 if self.config.symmetric else res["r1"]

    def score_parts(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The direct and cross residuals of each window, which the score weighs by ``alpha`` and ``beta``."""
        res = self._residuals(batch)
        if self.config.symmetric:
            return (res["r1"] + res["r2"]) / 2, (res["r12"] + res["r21"]) / 2
        return res["r1"], res["r12"]

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        direct, cross = self.score_parts(batch)
        return self.config.alpha * direct + self.config.beta * cross

    def _sample_weights(self, windows: np.ndarray, epoch: int) -> torch.Tensor | None:
        c = self.config
        if c.suppression == "none" or epoch < c.suppression_warmup:
            return None
        scores = torch.from_numpy(self._score_windows(windows)).float()
        for module in self.modules_.values():
            module.train()
        limit = torch.quantile(scores, c.suppression_quantile)
        if c.suppression == "clip":
            return (scores <= limit).float()
        return torch.where(scores > limit, limit / scores.clamp_min(1e-12), torch.ones_like(scores))


class _Output(nn.Module):
    """A backbone with its output layer: a sigmoid for min-max scaled data in [0, 1], or none (z-scores)."""

    def __init__(self, backbone: nn.Module, sigmoid: bool):
        super().__init__()
        self.backbone, self.sigmoid = backbone, sigmoid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.backbone(x)
        return torch.sigmoid(out) if self.sigmoid else out


def _mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).square().mean(dim=(1, 2))


class LstmAutoencoder(nn.Module):
    """Seq2seq LSTM autoencoder: the last encoder state is the code, repeated over time for the decoder."""

    def __init__(self, channels: int, window: int, *, hidden: int, latent: int, layers: int, dropout: float):
        super().__init__()
        self.window = window
        self.encoder = nn.LSTM(channels, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0)
        self.to_code = nn.Linear(hidden, latent)
        self.decoder = nn.LSTM(latent, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0)
        self.to_output = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.encoder(x)
        code = self.to_code(h[-1])
        decoded, _ = self.decoder(code.unsqueeze(1).expand(-1, self.window, -1))
        return self.to_output(decoded)


class TcnAutoencoder(nn.Module):
    """Temporal-convolution autoencoder: dilated convolutions, a pooled code, and a convolutional decoder.

    The decoder sees the code broadcast over time plus a fixed sinusoidal position signal, so that it can
    place events within the window.
    """

    def __init__(self, channels: int, window: int, *, hidden: int, latent: int, layers: int, dropout: float):
        super().__init__()
        blocks: list[nn.Module] = []
        width = channels
        for i in range(max(layers, 1) + 1):  # dilations 1, 2, 4 ...: the receptive field covers the window
            blocks += [nn.Conv1d(width, hidden, 3, padding=2**i, dilation=2**i), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.encoder = nn.Sequential(*blocks)
        self.to_code = nn.Linear(hidden, latent)
        steps = torch.arange(window, dtype=torch.float32)
        frequencies = torch.arange(1, 5, dtype=torch.float32)
        self.register_buffer("positions", torch.cat([torch.sin(np.pi * frequencies[:, None] * steps / window),
                                                     torch.cos(np.pi * frequencies[:, None] * steps / window)]))
        decoder: list[nn.Module] = []
        width = latent + self.positions.shape[0]
        for i in range(max(layers, 1)):
            decoder += [nn.Conv1d(width, hidden, 3, padding=2**i, dilation=2**i), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.decoder = nn.Sequential(*decoder, nn.Conv1d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code = self.to_code(self.encoder(x.transpose(1, 2)).mean(dim=2))  # (B, latent)
        window = x.shape[1]
        grid = torch.cat([code.unsqueeze(2).expand(-1, -1, window),
                          self.positions.unsqueeze(0).expand(len(x), -1, -1)], dim=1)
        return self.decoder(grid).transpose(1, 2)


class DenseAutoencoder(nn.Module):
    """USAD's autoencoder (Audibert et al., KDD 2020, §3.1): fully connected layers over the flattened window.

    USAD's widths (W*C -> W*C/2 -> W*C/4 -> latent, mirrored) grow with the window; here the two hidden layers are
    ``2 * hidden`` and ``hidden`` wide (ReLU after each, as USAD), so the cost stays small for long windows.
    ``layers`` is unused: the depth is USAD's.
    """

    def __init__(self, channels: int, window: int, *, hidden: int, latent: int, layers: int, dropout: float):
        super().__init__()
        flat = channels * window
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(flat, 2 * hidden), nn.ReLU(), nn.Dropout(dropout),
                                     nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, latent), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 2 * hidden), nn.ReLU(),
                                     nn.Dropout(dropout), nn.Linear(2 * hidden, flat),
                                     nn.Unflatten(1, (window, channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


_BACKBONES = {"lstm": LstmAutoencoder, "tcn": TcnAutoencoder, "dense": DenseAutoencoder}
