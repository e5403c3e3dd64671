"""TAnoGAN: time-series anomaly detection with an LSTM GAN (Bashar & Nayak, IEEE SSCI 2020, arXiv 2008.09567).

Specification: ../shared/docs/methods.md §4 (read from the authors' notebook and model file). Every open choice
is a parameter (conf/base/parameters/methods/tanogan.yml):

- Generator G: three single-layer LSTMs with hidden sizes 32, 64, 128 (the "pyramid"), then Linear(128 -> C)
  and tanh at every step. Its input is a latent *sequence* z of the window's shape (L, C), drawn from
  N(0, 0.1²) in training and at inversion; C is the number of channels, so multivariate input works.
- Discriminator D: LSTM(C -> 100), Linear(100 -> 1) and sigmoid at every step. Its hidden sequence (L, 100)
  is the feature map f_D of the anomaly score.
- Training: BCE with per-step labels (real 1, fake 0), Adam 2e-4 with default betas, batch 32, 20 epochs.
  The D step is the notebook's: ``errD_real.backward(); optD.step()`` then ``errD_fake.backward(); optD.step()``
  without a ``zero_grad`` in between, so the second step uses the accumulated real + fake gradients (two
  optimizer steps per batch; ``discriminator_step: original``). ``single`` takes the usual one step on both.
  G minimises the non-saturating loss BCE(D(G(z')), 1) on fresh noise z'.
- Inverse mapping (AnoGAN's): for each window x, z starts from N(0, 0.1²) and Adam (lr 1e-2) takes 50 steps on
      loss(x, z) = (1 - λ) Σ|x - G(z)| + λ Σ|f_D(x) - f_D(G(z))|,   λ = 0.1,
  sums over every element of the window. The score is the loss of the 50th iteration divided by the window
  length (the notebook's ``loss / 60``); the notebook's 50th ``step()`` never influences it, so it is skipped.
  The notebook never calls ``z_optimizer.zero_grad()``, so z's gradient accumulates over the 50 steps;
  ``inversion_zero_grad: false`` reproduces that, the default takes clean per-step gradients (what the paper
  describes).

Batched inversion (ours; the notebook inverts one window at a time). All windows of a batch are inverted at once:
z is a (B, L, C) tensor and the loss is the sum of the per-window losses. G and D treat windows independently
(no batch statistics), so the gradient of that sum with respect to z_j is the gradient of window j's own loss,
and Adam's update is element-wise, so one Adam over the batch takes exactly each window's own steps. Each
window's initial z is drawn from a counter-based generator keyed by (seed, window position in the scored array),
so a window gets the same z whatever batch it falls in: batched and one-at-a-time inversion give the same
scores (tests/models/test_tanogan.py checks both claims).

Model selection (ours; the notebook keeps the last of its epochs, which ``restore_best: false`` reproduces): the
shared loop restores the epoch with the lowest validation loss on held-out normal windows. A GAN's own losses say
little about sample quality, so the validation loss is ``nearest_sample`` by default: for each validation window,
the mean absolute difference to the nearest of a fixed bank of generated windows (fixed seeded latents). It needs
no inversion, does not depend on D (so it is comparable across epochs) and falls as G covers the normal windows.
``inversion`` uses the anomaly score itself (mean score of the normal validation windows; 50 inversion steps each,
costly). Early stopping is off by default (patience 0: the paper's fixed 20 epochs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812
from tqdm.auto import tqdm

from tsad.models.training import NeuralConfig, NeuralDetector

_DISCRIMINATOR_STEPS = ("original", "single")
_VALIDATION_LOSSES = ("nearest_sample", "inversion")
_BANK_STREAM = 1  # the validation bank's latents come from another stream than the inversion latents


@dataclasses.dataclass
class TanoganConfig(NeuralConfig):
    """TAnoGAN options (defaults: the paper's, documented in conf/base/parameters/methods/tanogan.yml).

    Attributes:
        generator_hidden: Hidden sizes of G's stacked single-layer LSTMs (the paper's 32, 64, 128).
        discriminator_hidden: Hidden size of D's LSTM (100); also the width of the score's feature map.
        latent_std: Standard deviation of the latent sequence z (0.1) in training and at inversion.
        discriminator_step: ``original`` (two D optimizer steps per batch, the second on the accumulated real
            and fake gradients, as the notebook) or ``single`` (one step on both losses).
        inversion_steps: Iterations of the inverse mapping (50); the score is the last iteration's loss.
        inversion_learning_rate: Adam learning rate on z (1e-2).
        inversion_zero_grad: Zero z's gradient before each step (default); false reproduces the notebook,
            whose gradients accumulate over the iterations.
        score_lambda: λ, the weight of the discriminator-feature distance in the score (0.1).
        validation_loss: ``nearest_sample`` or ``inversion`` (see the module docstring).
        validation_samples: Generated windows in the ``nearest_sample`` bank.
        inversion_batch_size: Windows inverted at once; None picks by device: 64 on the CPU (throughput falls
            beyond, measured in benchmarks/tanogan_inversion.py), 8192 on CUDA.
    """

    generator_hidden: tuple[int, ...] = (32, 64, 128)
    discriminator_hidden: int = 100
    latent_std: float = 0.1
    discriminator_step: str = "original"
    inversion_steps: int = 50
    inversion_learning_rate: float = 1e-2
    inversion_zero_grad: bool = True
    score_lambda: float = 0.1
    validation_loss: str = "nearest_sample"
    validation_samples: int = 256
    inversion_batch_size: int | None = None
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 2e-4
    patience: int = 0


class LstmGenerator(nn.Module):
    """G: stacked single-layer LSTMs (zero initial states), then Linear and tanh at every step."""

    def __init__(self, channels: int, hidden: tuple[int, ...]):
        super().__init__()
        sizes = (channels, *hidden)
        self.lstms = nn.ModuleList(nn.LSTM(i, o, batch_first=True) for i, o in zip(sizes[:-1], sizes[1:]))
        self.output = nn.Linear(sizes[-1], channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for lstm in self.lstms:
            h, _ = lstm(h)
        return torch.tanh(self.output(h))


class LstmDiscriminator(nn.Module):
    """D: an LSTM, then Linear and sigmoid at every step; returns (probabilities (B, L, 1), features (B, L, H))."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(channels, hidden, batch_first=True)
        self.output = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, _ = self.lstm(x)
        return torch.sigmoid(self.output(features)), features


class TanoganDetector(NeuralDetector):
    """LSTM GAN trained on normal windows; a window's score is how badly G can reproduce it (inverse mapping)."""

    name = "tanogan"
    config_class = TanoganConfig
    config: TanoganConfig

    @classmethod
    def test_config(cls) -> TanoganConfig:
        return TanoganConfig(device="cpu", epochs=1, batch_size=128, generator_hidden=(4, 4, 4),
                             discriminator_hidden=4, inversion_steps=3, inversion_batch_size=4096, progress=False)

    # ----------------------------------------------------------------------------------------------- model
    def _build(self) -> dict[str, nn.Module]:
        c = self.config
        if c.discriminator_step not in _DISCRIMINATOR_STEPS:
            raise ValueError(f"unknown discriminator_step {c.discriminator_step!r}; use one of {_DISCRIMINATOR_STEPS}")
        if c.validation_loss not in _VALIDATION_LOSSES:
            raise ValueError(f"unknown validation_loss {c.validation_loss!r}; use one of {_VALIDATION_LOSSES}")
        if c.inversion_steps < 1:
            raise ValueError(f"inversion_steps must be at least 1, got {c.inversion_steps}")
        hidden = tuple(int(h) for h in c.generator_hidden)
        if not hidden or min(hidden) < 1:
            raise ValueError(f"generator_hidden must list positive LSTM sizes, got {c.generator_hidden!r}")
        return {"generator": LstmGenerator(self.n_channels_, hidden),
                "discriminator": LstmDiscriminator(self.n_channels_, int(c.discriminator_hidden))}

    def _configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        lr = self.config.learning_rate
        return {name: torch.optim.Adam(module.parameters(), lr=lr) for name, module in self.modules_.items()}

    def _noise(self, like: torch.Tensor) -> torch.Tensor:
        # Torch's global generator, which the shared loop seeds by (seed, epoch): resumed runs draw the same noise.
        return torch.randn(like.shape, device=like.device) * self.config.latent_std

    def _train_step(self, batch: torch.Tensor, weights: torch.Tensor | None, epoch: int) -> dict[str, float]:
        generator, discriminator = self.modules_["generator"], self.modules_["discriminator"]
        opt_g, opt_d = self.optimizers_["generator"], self.optimizers_["discriminator"]
        real_labels = torch.ones(*batch.shape[:2], 1, device=batch.device)
        fake_labels = torch.zeros_like(real_labels)
        # (1) D: maximise log D(x) + log(1 - D(G(z))).
        opt_d.zero_grad(set_to_none=True)
        p_real, _ = discriminator(batch)
        err_real = F.binary_cross_entropy(p_real, real_labels)
        err_real.backward()
        if self.config.discriminator_step == "original":
            opt_d.step()  # the notebook's first step; its gradients stay and add to the fake ones below
        fake = generator(self._noise(batch))
        p_fake, _ = discriminator(fake.detach())
        err_fake = F.binary_cross_entropy(p_fake, fake_labels)
        err_fake.backward()
        opt_d.step()
        # (2) G: the non-saturating loss -log D(G(z')) on fresh noise (D's gradients from it are zeroed above).
        opt_g.zero_grad(set_to_none=True)
        p_gen, _ = discriminator(generator(self._noise(batch)))
        err_g = F.binary_cross_entropy(p_gen, real_labels)
        err_g.backward()
        opt_g.step()
        loss_d, loss_g = err_real.item() + err_fake.item(), err_g.item()
        return {"loss": loss_d + loss_g, "loss_d": loss_d, "loss_g": loss_g,
                "d_real": p_real.mean().item(), "d_fake": p_fake.mean().item()}

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        if self.config.validation_loss == "inversion":
            return torch.cat([self._invert(chunk, np.arange(start, start + len(chunk)))
                              for start, chunk in zip(range(0, len(batch), self._inversion_batch_size()),
                                                      batch.split(self._inversion_batch_size()))])
        bank = self._sample_bank(batch.device)  # (M, L, C)
        distances = torch.cdist(batch.flatten(1), bank.flatten(1), p=1)  # (B, M): Σ|x - G(z_m)|
        return distances.min(dim=1).values / batch[0].numel()

    def _sample_bank(self, device: str | torch.device) -> torch.Tensor:
        """The fixed bank of generated windows of the ``nearest_sample`` validation loss."""
        z = latent_sequences(np.arange(self.config.validation_samples), (self.window_, self.n_channels_),
                             self.config.seed, self.config.latent_std, stream=_BANK_STREAM)
        with torch.no_grad():
            return self.modules_["generator"](torch.from_numpy(z).to(device))

    # ----------------------------------------------------------------------------------------------- scores
    def _score_windows(self, windows: np.ndarray) -> np.ndarray:
        """Invert every window, ``inversion_batch_size`` windows at a time (the base class scores under
        ``inference_mode``; the inverse mapping needs gradients with respect to z)."""
        out = np.empty(len(windows), dtype=np.float64)
        step = self._inversion_batch_size()
        starts = range(0, len(windows), step)
        bar = tqdm(starts, desc=f"{self.method} inversion", unit="batch",
                   disable=not (self.config.progress and sys.stderr.isatty()), leave=False)
        for start in bar:
            batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + step], dtype=np.float32))
            positions = np.arange(start, start + len(batch))
            out[start:start + len(batch)] = self._invert(batch.to(self.device_), positions).double().cpu().numpy()
        bar.close()
        return out

    def _inversion_batch_size(self) -> int:
        if self.config.inversion_batch_size is not None:
            if int(self.config.inversion_batch_size) < 1:
                raise ValueError(f"inversion_batch_size must be positive, got {self.config.inversion_batch_size}")
            return int(self.config.inversion_batch_size)
        return 8192 if str(self.device_).startswith("cuda") else 64

    def invert_batch(self, batch: torch.Tensor, positions: np.ndarray) -> torch.Tensor:
        """Scores of a (B, L, C) batch on ``device_`` whose windows sit at ``positions`` in the scored array.

        Public for the inversion benchmark (benchmarks/tanogan_inversion.py), which compares batches with
        one-window calls on the same windows.
        """
        if self.window_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self._invert(batch, np.asarray(positions))

    def _invert(self, x: torch.Tensor, positions: np.ndarray) -> torch.Tensor:
        """The inverse mapping of every window of ``x`` at once; returns the (B,) scores (methods.md §4.5)."""
        c = self.config
        generator, discriminator = self.modules_["generator"], self.modules_["discriminator"]
        z0 = latent_sequences(positions, tuple(x.shape[1:]), c.seed, c.latent_std)
        with _frozen(generator, discriminator), torch.enable_grad():
            z = torch.from_numpy(z0).to(x.device).requires_grad_(True)
            optimizer = torch.optim.Adam([z], lr=c.inversion_learning_rate)
            with torch.no_grad():
                _, x_features = discriminator(x)
            for iteration in range(c.inversion_steps):
                generated = generator(z)
                _, g_features = discriminator(generated)
                # Per-window loss, Σ over the window's elements; summing over windows gives each z_j its own gradient.
                loss = (1 - c.score_lambda) * (x - generated).abs().sum(dim=(1, 2)) \
                    + c.score_lambda * (x_features - g_features).abs().sum(dim=(1, 2))
                if iteration == c.inversion_steps - 1:
                    break  # the score is this loss; the notebook's step after it never reaches the score
                if c.inversion_zero_grad:
                    optimizer.zero_grad(set_to_none=True)
                loss.sum().backward()
                optimizer.step()
        return loss.detach() / x.shape[1]


@contextlib.contextmanager
def _frozen(*modules: nn.Module) -> Iterator[None]:
    """Parameters without gradients (only z is optimised), modules in training mode, both restored after.

    Training mode because cuDNN computes LSTM input gradients only in training mode; G and D have no dropout or
    normalisation, so the mode changes nothing else.
    """
    parameters = [p for m in modules for p in m.parameters()]
    needed = [p.requires_grad for p in parameters]
    modes = [m.training for m in modules]
    for p in parameters:
        p.requires_grad_(False)
    for m in modules:
        m.train()
    try:
        yield
    finally:
        for p, flag in zip(parameters, needed):
            p.requires_grad_(flag)
        for m, mode in zip(modules, modes):
            m.train(mode)


# ----------------------------------------------------------------------------------------------- latents
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele et al., OOPSLA 2014), element-wise on uint64 (arithmetic wraps mod 2^64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def latent_sequences(positions: np.ndarray, shape: tuple[int, int], seed: int, std: float,
                     stream: int = 0) -> np.ndarray:
    """Latent sequences N(0, std²) of ``shape`` (L, C), one per position, as float32 (len(positions), L, C).

    Counter-based: element e of the sequence at position j is a hash of (seed, stream, j, e), so a window's
    latent does not depend on which other windows are drawn with it, and the draw is vectorised. Two hashed
    uniforms per element give a normal by Box-Muller.
    """
    positions = np.asarray(positions, dtype=np.uint64)
    size = int(np.prod(shape))
    with np.errstate(over="ignore"):
        key = _splitmix64(np.array([seed, stream], dtype=np.uint64) * _GOLDEN + _GOLDEN)
        counter = positions[:, None] * np.uint64(size) + np.arange(size, dtype=np.uint64)[None, :]
        base = (counter * np.uint64(2) + key[0]) * _GOLDEN + key[1]
        bits_a, bits_b = _splitmix64(base), _splitmix64(base + _GOLDEN)
    # 53-bit uniforms in (0, 1]: log() stays finite.
    u1 = ((bits_a >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53
    u2 = (bits_b >> np.uint64(11)).astype(np.float64) * 2.0**-53
    normal = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return (std * normal).astype(np.float32).reshape(len(positions), *shape)
