"""MGAN:MTSAD: multimodal GAN-based multivariate time-series anomaly detection (../shared/docs/methods.md §2).

A window is read in two modalities: its values X (L x F, the time modality) and the cosine similarities between its
variables C(X) = XᵀX / (‖x_i‖‖x_j‖ + 1e-10) (F x F, the space modality; the ``cosine`` view, computed per batch on
the device, never stored). Following the public code (``SWAT/model.py``, ``main.py``, ``utils.py``,
``anomaly_detection.py`` of changezyc/Multimodal-GAN-Based-MTS-Anomaly-Detection):

- D, a WGAN critic on 1 x F x F matrices: convolutions (k3 s2, k3 s2, k2 s2, k2 s2; 16/64/128/256 channels, LeakyReLU
  0.2), Linear(-> 100), LeakyReLU, Linear(-> 1, no bias), no sigmoid.
- G_C (z ∈ R^40 -> 1 x F x F): Linear(40 -> 100), Linear(-> the critic's flattened size), the transposed convolutions
  back to F x F, tanh. G_R (z -> L x F): Linear(40 -> 640), Linear(640 -> L·40), an LSTM(40 -> 128) over the L steps,
  Linear(128 -> F), tanh.
- E_R (L x F -> R^40): LSTM(F -> 40), flattened, Linear(-> 640), ReLU, Linear(640 -> 40). E_C (F x F -> R^40): the
  critic's convolutions, Linear(-> 300), LeakyReLU, Linear(300 -> 40, no bias).
- Stage 1, WGAN-GP: per batch, ``critic_steps`` (5) critic steps on mean D(fake) - mean D(C(x)) + 10·GP with
  fake = α·G_C(z) + (1 - α)·C(G_R(z)), then one generator step: G_C minimises -mean D(G_C(z)) and G_R
  -mean D(C(G_R(z))), each with its own optimizer. Stage 2 (the last ``encoder_epochs``): the generators frozen,
  E_R minimises MSE(G_R(E_R(x)), x) and E_C MSE(G_C(E_C(C(x))), C(x)).
- Score: (1 - λ)·(θ·rec_time + (1 - θ)·rec_space) + λ·critic, rec_time = MSE(x, G_R(E_R(x))),
  rec_space = MSE(C(x), G_C(E_C(C(x)))), critic = -D(C(x)) (higher = more anomalous).

The layer sizes follow F: the SWaT folder's four convolutions for F >= 19 (F = 51 flattens to 256·3·3 = 2304 and G_C
goes 3 -> 6 -> 12 -> 25 -> 51, as there), fewer for smaller F, and each transposed convolution takes the output
padding that lands exactly on the critic's sizes in reverse, so any F >= 3 works.

The public code's defects, fixed by default, each reproducible by a parameter: G_R is stepped by its own optimizer
(the code steps G_C's twice, so G_R never learns: ``generator_rnn_step: cnn_optimizer``); the gradient penalty is per
sample (the code takes one norm over the whole batch: ``gradient_penalty: whole_batch``); the critic term is -D, so
that a higher score is more anomalous (the code adds +D, "high = real": ``critic_sign: original``); α = 0.8, the
README's default (the committed loop passes 1). Test data are scaled with training statistics and every window is
scored (the pipeline does both; the code scales each split by itself and drops the last partial batch). The
learning rates are the WGAN-GP paper's 1e-4 with betas (0, 0.9) for the GAN and 1e-3 for the encoders (the CICIDS
script's 1e-6 and 1e-5 learn next to nothing in the tens of epochs a CPU allows; ``gan_learning_rate: 1.0e-6``
reproduces them).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from tsad.models.training import NeuralConfig, NeuralDetector

LATENT = 40  # z and the encoders' codes (the public code's 40)
# The SWaT folder's critic convolutions: (kernel, out channels), stride 2, no padding.
_CONVOLUTIONS = ((3, 16), (3, 64), (2, 128), (2, 256))
_GRADIENT_PENALTIES = ("per_sample", "whole_batch")
_GENERATOR_RNN_STEPS = ("own_optimizer", "cnn_optimizer")
_CRITIC_SIGNS = ("anomalous_high", "original")


@dataclasses.dataclass
class MganConfig(NeuralConfig):
    """MGAN options (the public code's values unless noted in the module docstring).

    Attributes:
        alpha: Weight of G_C's matrices against the cosine matrices of G_R's windows in the fakes the critic sees.
        theta: Weight of the time reconstruction error against the space (cosine matrix) one in ``rec``.
        score_lambda: λ, the weight of the critic term against ``rec`` in the score.
        critic_steps: Critic steps per generator step in the WGAN-GP stage.
        gp_weight: Weight of the gradient penalty.
        gradient_penalty: ``per_sample`` (WGAN-GP) or ``whole_batch`` (the public code: one norm over the batch).
        gp_one_sided: Penalise only gradient norms above 1 (the public code), else both sides (WGAN-GP).
        generator_rnn_step: ``own_optimizer`` or ``cnn_optimizer`` (the public code's bug: G_R never steps).
        critic_sign: ``anomalous_high`` (the score adds -D) or ``original`` (+D, "high = real").
        gan_learning_rate: Adam learning rate of the critic and the generators (betas ``gan_betas``).
        gan_betas: Adam betas of the critic and the generators.
        learning_rate: Adam learning rate of the encoders (default betas).
        encoder_epochs: The last epochs train the encoders with the generators frozen; the first ones the GAN.
        epoch_windows: Training windows drawn (seeded, without replacement) for each epoch, and the most validation
            windows the per-epoch validation loss reads (a fixed seeded subset); null: all of them. The public code's
            windows are 100 rows every 50 (about 10k on SWaT's training week); ours every row, and each window costs
            ``critic_steps`` critic steps with a double backward, so an epoch samples them.
        generator_hidden: Width of G_R's LSTM (128).
        encoder_hidden: Width of E_C's dense layer (300 in the SWaT folder).
    """

    alpha: float = 0.8
    theta: float = 1.0
    score_lambda: float = 0.5
    critic_steps: int = 5
    gp_weight: float = 10.0
    gradient_penalty: str = "per_sample"
    gp_one_sided: bool = True
    generator_rnn_step: str = "own_optimizer"
    critic_sign: str = "anomalous_high"
    gan_learning_rate: float = 1e-4
    gan_betas: tuple[float, float] = (0.0, 0.9)
    learning_rate: float = 1e-3
    epochs: int = 20
    encoder_epochs: int = 10
    batch_size: int = 64
    epoch_windows: int | None = 4096
    generator_hidden: int = 128
    encoder_hidden: int = 300
    # No early stopping: the validation loss changes meaning between the two stages (critic gap, then reconstruction).
    patience: int = 0
    restore_best: bool = False


class MganDetector(NeuralDetector):
    """Two generators (windows, cosine matrices), a critic on cosine matrices and two encoders; score from the
    reconstructions and the critic."""

    name = "mgan"
    config_class = MganConfig
    config: MganConfig
    views = ("cosine",)

    @classmethod
    def test_config(cls) -> MganConfig:
        return MganConfig(device="cpu", epochs=3, encoder_epochs=1, batch_size=128, critic_steps=2, progress=False)

    # ----------------------------------------------------------------------------------------------- model
    def _build(self) -> dict[str, nn.Module]:
        c = self.config
        for option, value, known in (("gradient_penalty", c.gradient_penalty, _GRADIENT_PENALTIES),
                                     ("generator_rnn_step", c.generator_rnn_step, _GENERATOR_RNN_STEPS),
                                     ("critic_sign", c.critic_sign, _CRITIC_SIGNS)):
            if value not in known:
                raise ValueError(f"unknown {option} {value!r}; use one of {known}")
        if not 0 <= c.encoder_epochs < c.epochs:
            raise ValueError(f"encoder_epochs must leave at least one GAN epoch: 0 <= {c.encoder_epochs} < "
                             f"epochs {c.epochs}")
        if c.epoch_windows is not None and c.epoch_windows < 1:
            raise ValueError(f"epoch_windows must be a positive count or null, got {c.epoch_windows}")
        if self.n_channels_ < 3:
            raise ValueError(f"MGAN reads the cosine similarities between channels and needs at least 3, got "
                             f"{self.n_channels_}")
        trunk = conv_layout(self.n_channels_)
        window, channels = self.window_, self.n_channels_
        return {"critic": CosineCritic(trunk, 100, 1), "generator_cnn": CosineGenerator(trunk),
                "generator_rnn": WindowGenerator(window, channels, c.generator_hidden),
                "encoder_cnn": CosineCritic(trunk, c.encoder_hidden, LATENT),
                "encoder_rnn": WindowEncoder(window, channels)}

    def _configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        gan = {name: torch.optim.Adam(self.modules_[name].parameters(), lr=c.gan_learning_rate,
                                      betas=tuple(c.gan_betas))
               for name in ("critic", "generator_cnn", "generator_rnn")}
        encoders = {name: torch.optim.Adam(self.modules_[name].parameters(), lr=c.learning_rate)
                    for name in ("encoder_cnn", "encoder_rnn")}
        return gan | encoders

    def _epoch_order(self, n_windows: int, epoch: int) -> torch.Tensor:
        order = super()._epoch_order(n_windows, epoch)
        return order if self.config.epoch_windows is None else order[:self.config.epoch_windows]

    def _evaluate(self, windows: np.ndarray, epoch: int) -> float:
        # the validation loss is a diagnostic here (no early stopping): a fixed seeded subset of epoch_windows
        limit = self.config.epoch_windows
        if limit is not None and len(windows) > limit:
            chosen = np.random.default_rng(self.config.seed).choice(len(windows), limit, replace=False)
            windows = windows[np.sort(chosen)]
        return super()._evaluate(windows, epoch)

    def _encoder_stage(self, epoch: int) -> bool:
        return epoch >= self.config.epochs - self.config.encoder_epochs

    # -------------------------------------------------------------------------------------------- training
    def _train_step(self, batch: torch.Tensor, weights: torch.Tensor | None, epoch: int) -> dict[str, float]:
        cosine = self.window_views(batch)["cosine"].unsqueeze(1)  # (B, 1, F, F)
        if self._encoder_stage(epoch):
            return self._encoder_step(batch, cosine)
        m, opt, c = self.modules_, self.optimizers_, self.config
        for _ in range(c.critic_steps):
            with torch.no_grad():
                fake = self._fakes(len(batch), batch.device)
            opt["critic"].zero_grad(set_to_none=True)
            gap = m["critic"](fake).mean() - m["critic"](cosine).mean()
            critic_loss = gap + c.gp_weight * self._gradient_penalty(cosine, fake)
            critic_loss.backward()
            opt["critic"].step()
        m["critic"].requires_grad_(False)  # the generators' step leaves the critic's gradients alone
        try:
            opt["generator_cnn"].zero_grad(set_to_none=True)
            opt["generator_rnn"].zero_grad(set_to_none=True)
            z = torch.randn(len(batch), LATENT, device=batch.device)
            loss_cnn = -m["critic"](m["generator_cnn"](z)).mean()
            loss_rnn = -m["critic"](self._window_cosines(m["generator_rnn"](z))).mean()
            (loss_cnn + loss_rnn).backward()  # the two generators share no parameters: each gets its own gradient
            opt["generator_cnn"].step()
            if c.generator_rnn_step == "own_optimizer":
                opt["generator_rnn"].step()
            else:  # the public code steps G_C's optimizer again, with stale gradients, and never G_R's
                opt["generator_cnn"].step()
        finally:
            m["critic"].requires_grad_(True)
        return {"loss": critic_loss.item(), "critic_gap": gap.item(), "loss_generator_cnn": loss_cnn.item(),
                "loss_generator_rnn": loss_rnn.item()}

    def _encoder_step(self, batch: torch.Tensor, cosine: torch.Tensor) -> dict[str, float]:
        m, opt = self.modules_, self.optimizers_
        for name in ("critic", "generator_cnn", "generator_rnn"):
            m[name].requires_grad_(False)  # frozen: gradients flow through them to the encoders only
        try:
            opt["encoder_rnn"].zero_grad(set_to_none=True)
            opt["encoder_cnn"].zero_grad(set_to_none=True)
            time = F.mse_loss(m["generator_rnn"](m["encoder_rnn"](batch)), batch)
            space = F.mse_loss(m["generator_cnn"](m["encoder_cnn"](cosine)), cosine)
            (time + space).backward()  # separate parameters: each encoder gets its own loss's gradient
            opt["encoder_rnn"].step()
            opt["encoder_cnn"].step()
        finally:
            for name in ("critic", "generator_cnn", "generator_rnn"):
                m[name].requires_grad_(True)
        return {"loss": (time + space).item(), "loss_encoder_rnn": time.item(), "loss_encoder_cnn": space.item()}

    def _fakes(self, n: int, device: torch.device | str) -> torch.Tensor:
        """α·G_C(z) + (1 - α)·C(G_R(z)): the fakes the critic sees (methods.md §2.4)."""
        z = torch.randn(n, LATENT, device=device)
        alpha = self.config.alpha
        fake = alpha * self.modules_["generator_cnn"](z)
        if alpha < 1:
            fake = fake + (1 - alpha) * self._window_cosines(self.modules_["generator_rnn"](z))
        return fake

    def _window_cosines(self, windows: torch.Tensor) -> torch.Tensor:
        return self.window_views(windows)["cosine"].unsqueeze(1)

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """WGAN-GP's penalty on the critic's gradient at points between real and fake matrices."""
        mix = torch.rand(len(real), 1, 1, 1, device=real.device)
        points = (mix * real + (1 - mix) * fake).requires_grad_(True)
        (gradient,) = torch.autograd.grad(self.modules_["critic"](points).sum(), points, create_graph=True)
        if self.config.gradient_penalty == "per_sample":
            norm = gradient.flatten(1).norm(dim=1)
        else:  # the public code: one norm over the whole batch's gradient
            norm = gradient.norm().unsqueeze(0)
        excess = norm - 1
        return (excess.clamp_min(0) if self.config.gp_one_sided else excess).square().mean()

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        # GAN stage: the critic's gap between real and generated matrices (a Wasserstein estimate, per window);
        # encoder stage: the reconstruction errors the score uses.
        if self._encoder_stage(epoch):
            time, space, _ = self.score_parts(batch)
            return time + space
        cosine = self.window_views(batch)["cosine"].unsqueeze(1)
        fake = self._fakes(len(batch), batch.device)
        return self.modules_["critic"](fake).mean() - self.modules_["critic"](cosine).squeeze(1)

    # ----------------------------------------------------------------------------------------------- score
    def score_parts(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per window: rec_time, rec_space and the critic term (-D(C(x)), or +D under ``critic_sign: original``)."""
        m = self.modules_
        cosine = self.window_views(batch)["cosine"].unsqueeze(1)
        time = (m["generator_rnn"](m["encoder_rnn"](batch)) - batch).square().mean(dim=(1, 2))
        space = (m["generator_cnn"](m["encoder_cnn"](cosine)) - cosine).square().mean(dim=(1, 2, 3))
        critic = m["critic"](cosine).squeeze(1)
        return time, space, (-critic if self.config.critic_sign == "anomalous_high" else critic)

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        c = self.config
        time, space, critic = self.score_parts(batch)
        return (1 - c.score_lambda) * (c.theta * time + (1 - c.theta) * space) + c.score_lambda * critic


def conv_layout(channels: int) -> list[tuple[int, int, int, int]]:
    """The critic's convolutions for F x F matrices: ``(kernel, out channels, output size, output padding)`` each,
    the SWaT folder's four as long as each leaves at least one cell; the output padding is what a stride-2
    transposed convolution of that kernel needs to give the input size back exactly."""
    layout, size = [], channels
    for kernel, width in _CONVOLUTIONS:
        out = (size - kernel) // 2 + 1
        if out < 1:
            break
        layout.append((kernel, width, out, (size - kernel) % 2))
        size = out
    return layout


class CosineCritic(nn.Module):
    """The critic's convolutions, then Linear(-> hidden), LeakyReLU, Linear(hidden -> out, no bias): D (out 1) and E_C
    (out 40) of the public code."""

    def __init__(self, layout: list[tuple[int, int, int, int]], hidden: int, out: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = 1
        for kernel, channels, _, _ in layout:
            layers += [nn.Conv2d(width, channels, kernel, stride=2), nn.LeakyReLU(0.2)]
            width = channels
        self.convolutions = nn.Sequential(*layers, nn.Flatten())
        flat = width * layout[-1][2] ** 2
        self.dense = nn.Sequential(nn.Linear(flat, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out, bias=False))

    def forward(self, matrices: torch.Tensor) -> torch.Tensor:
        return self.dense(self.convolutions(matrices))


class CosineGenerator(nn.Module):
    """G_C: z -> Linear(100) -> Linear(flat) -> the critic's convolutions transposed, in reverse -> tanh (1 x F x F)."""

    def __init__(self, layout: list[tuple[int, int, int, int]]):
        super().__init__()
        self.start = (layout[-1][1], layout[-1][2])  # channels and size of the smallest map
        self.dense = nn.Sequential(nn.Linear(LATENT, 100), nn.LeakyReLU(0.2),
                                   nn.Linear(100, self.start[0] * self.start[1] ** 2), nn.LeakyReLU(0.2))
        layers: list[nn.Module] = []
        widths = [1] + [channels for _, channels, _, _ in layout]
        for index in range(len(layout) - 1, -1, -1):
            kernel, _, _, padding = layout[index]
            last = index == 0
            layers.append(nn.ConvTranspose2d(widths[index + 1], widths[index], kernel, stride=2,
                                             output_padding=padding, bias=not last))
            layers.append(nn.Tanh() if last else nn.LeakyReLU(0.2))
        self.deconvolutions = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        channels, size = self.start
        return self.deconvolutions(self.dense(z).view(-1, channels, size, size))


class WindowGenerator(nn.Module):
    """G_R: z -> Linear(640) -> Linear(L·40) -> (L, 40) -> LSTM(hidden) -> LeakyReLU -> Linear(F) -> tanh."""

    def __init__(self, window: int, channels: int, hidden: int):
        super().__init__()
        self.window = window
        self.dense = nn.Sequential(nn.Linear(LATENT, 640), nn.LeakyReLU(0.2), nn.Linear(640, window * LATENT),
                                   nn.LeakyReLU(0.2))
        self.lstm = nn.LSTM(LATENT, hidden, batch_first=True)
        self.output = nn.Sequential(nn.LeakyReLU(0.2), nn.Linear(hidden, channels), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        steps, _ = self.lstm(self.dense(z).view(-1, self.window, LATENT))
        return self.output(steps)


class WindowEncoder(nn.Module):
    """E_R: LSTM(F -> 40) over the window, flattened, Linear(640), ReLU, Linear(40)."""

    def __init__(self, window: int, channels: int):
        super().__init__()
        self.lstm = nn.LSTM(channels, LATENT, batch_first=True)
        self.dense = nn.Sequential(nn.Linear(window * LATENT, 640), nn.ReLU(), nn.Linear(640, LATENT))

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        steps, _ = self.lstm(windows)
        return self.dense(steps.flatten(1))
