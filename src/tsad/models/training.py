"""The one training loop every neural detector uses.

``NeuralDetector`` runs epochs over shuffled training windows, computes the validation loss on held-out
normal windows after each epoch, stops early when it stops improving, keeps the best weights, writes a
checkpoint after every epoch and resumes from the last one after an interruption. Randomness is drawn from
generators seeded by ``(seed, epoch)``, so a resumed run gives exactly the result of an uninterrupted one.

Checkpoints of one training (same configuration, same data) live in their own folder,
``<checkpoint_dir>/<fingerprint>/``, so no other training resumes from them. Each is written to a temporary file
and renamed, and the one before it is kept as ``previous.pt``: a kill at any moment leaves a whole checkpoint,
and a damaged ``last.pt`` is refused (logged) in favour of ``previous.pt``.

Subclasses fill four hooks: ``_build`` (modules), ``_configure_optimizers``, ``_train_step`` (one batch,
optimizer steps included; GANs and adversarial pairs run their several updates there) and
``_validation_loss`` (per-window loss used for early stopping), plus ``_score_batch`` for scoring.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from tsad.models.base import Detector, DetectorConfig

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "last.pt"
PREVIOUS_CHECKPOINT_FILE = "previous.pt"
# Config fields that do not change what is learnt, so a checkpoint stays valid when they change.
_NOT_FINGERPRINTED = {"checkpoint_dir", "resume", "progress", "device", "score_batch_size"}


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclasses.dataclass
class NeuralConfig(DetectorConfig):
    """Options of the shared training loop.

    Attributes:
        epochs: Most epochs to train.
        batch_size: Training windows per batch.
        learning_rate: Adam learning rate.
        patience: Epochs without a validation improvement larger than ``min_delta`` before stopping;
            0 never stops early. Without validation windows, the training loss is watched instead.
        min_delta: Smallest decrease of the validation loss that counts as an improvement.
        restore_best: End with the weights of the epoch with the best validation loss (else the last).
        checkpoint_dir: Folder for the per-epoch checkpoints (``<fingerprint>/last.pt``); None writes none.
        resume: Continue from the checkpoint made with the same configuration and data (a finished one gives
            its model without training again).
        progress: Show a progress bar over epochs (on a terminal only).
    """

    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 1e-3
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    checkpoint_dir: str | None = None
    resume: bool = True
    progress: bool = True


class NeuralDetector(Detector):
    """A detector made of torch modules, trained by the shared loop."""

    config_class = NeuralConfig
    config: NeuralConfig

    # ----------------------------------------------------------------------------------------------- hooks
    def _build(self) -> dict[str, nn.Module]:
        """The modules, given ``window_`` and ``n_channels_``."""
        raise NotImplementedError

    def _configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers over ``modules_`` (default: one Adam over all parameters)."""
        parameters = [p for module in self.modules_.values() for p in module.parameters()]
        return {"adam": torch.optim.Adam(parameters, lr=self.config.learning_rate)}

    def _train_step(self, batch: torch.Tensor, weights: torch.Tensor | None, epoch: int) -> dict[str, float]:
        """Train on one batch (optimizer steps included) and return its losses by name."""
        raise NotImplementedError

    def _validation_loss(self, batch: torch.Tensor, epoch: int) -> torch.Tensor:
        """Per-window loss of a validation batch, shape (B,), for early stopping."""
        raise NotImplementedError

    def _sample_weights(self, windows: np.ndarray, epoch: int) -> torch.Tensor | None:
        """Per-window loss weights for this epoch (None = all 1); e.g. to suppress suspected anomalies."""
        return None

    # ------------------------------------------------------------------------------------------- the loop
    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        config = self.config
        self.modules_ = {name: module.to(self.device_) for name, module in self._build().items()}
        self.optimizers_ = self._configure_optimizers()
        fingerprint = self._fingerprint(windows_train, windows_val)
        path = Path(config.checkpoint_dir) / fingerprint[:16] / CHECKPOINT_FILE if config.checkpoint_dir else None
        progress = _Progress(self._resume(path, fingerprint) if path else _Progress.fresh())
        epochs = range(progress.epoch, progress.epoch if progress.finished else config.epochs)
        bar = tqdm(epochs, desc=f"{self.method} epochs", total=config.epochs, initial=progress.epoch,
                   disable=not (config.progress and sys.stderr.isatty()), leave=False)
        for epoch in bar:
            train_losses = self._run_epoch(windows_train, epoch, path)
            watched = self._evaluate(windows_val, epoch) if windows_val is not None else train_losses["loss"]
            for name, value in train_losses.items():
                progress.history.setdefault(f"train_{name}", []).append(value)
            progress.history.setdefault("val_loss", []).append(watched)
            improved = watched < progress.best_loss - config.min_delta
            if improved:
                progress.best_loss, progress.bad_epochs = watched, 0
                progress.best_modules = {k: copy.deepcopy(m.state_dict()) for k, m in self.modules_.items()}
            else:
                progress.bad_epochs += 1
            progress.epoch = epoch + 1
            stop = bool(config.patience) and progress.bad_epochs >= config.patience
            progress.finished = stop or progress.epoch == config.epochs
            if path:
                self._save_checkpoint(path, fingerprint, progress)
            bar.set_postfix(loss=f"{train_losses['loss']:.4g}", val=f"{watched:.4g}")
            logger.info("%s epoch %d/%d: train loss %.6g, validation loss %.6g%s", self.method, epoch + 1,
                        config.epochs, train_losses["loss"], watched, "" if improved else " (no improvement)")
            if stop:
                logger.info("%s: early stop after epoch %d (best validation loss %.6g)", self.method, epoch + 1,
                            progress.best_loss)
                break
        bar.close()
        if self.config.restore_best and progress.best_modules is not None:
            for name, module in self.modules_.items():
                module.load_state_dict(progress.best_modules[name])
        self.history_ = progress.history

    def _run_epoch(self, windows: np.ndarray, epoch: int, path: Path | None) -> dict[str, float]:
        for module in self.modules_.values():
            module.train()
        torch.manual_seed(_epoch_seed(self.config.seed, epoch))  # dropout and any other torch randomness
        weights = self._sample_weights(windows, epoch)
        order = self._epoch_order(len(windows), epoch)
        totals: dict[str, float] = {}
        batches = 0
        for index in _batches(order.numpy(), self.config.batch_size):
            batch = torch.from_numpy(windows[np.sort(index)]).to(self.device_)
            batch_weights = None if weights is None else weights[np.sort(index)].to(self.device_)
            losses = self._train_step(batch, batch_weights, epoch)
            bad = [name for name, value in losses.items() if not math.isfinite(value)]
            if bad:
                where = f"the last good checkpoint is {path}" if path and path.exists() else "no checkpoint was kept"
                raise TrainingDivergedError(f"{self.method}: the training loss {bad[0]} became {losses[bad[0]]} in "
                                            f"epoch {epoch + 1} (batch {batches + 1}); training stopped and {where}")
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + value
            batches += 1
        return {name: total / batches for name, total in totals.items()}

    def _epoch_order(self, n_windows: int, epoch: int) -> torch.Tensor:
        """The training windows of an epoch in the order they are batched: all of them, shuffled by the epoch's
        seed (a detector may take fewer)."""
        return torch.randperm(n_windows, generator=torch.Generator().manual_seed(_epoch_seed(self.config.seed, epoch)))

    def _evaluate(self, windows: np.ndarray, epoch: int) -> float:
        for module in self.modules_.values():
            module.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(windows), self.config.score_batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + self.config.score_batch_size]))
                total += float(self._validation_loss(batch.to(self.device_), epoch).double().sum())
        return total / len(windows)

    def _score_windows(self, windows: np.ndarray) -> np.ndarray:
        for module in self.modules_.values():
            module.eval()
        return super()._score_windows(windows)

    # ------------------------------------------------------------------------------------ state and resume
    def _state_tensors(self) -> dict[str, torch.Tensor]:
        return {f"{name}.{key}": value.detach().cpu() for name, module in self.modules_.items()
                for key, value in module.state_dict().items()}

    def _load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.modules_ = {name: module.to(self.device_) for name, module in self._build().items()}
        for name, module in self.modules_.items():
            prefix = f"{name}."
            module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            module.eval()

    def _fingerprint(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> str:
        config = {k: v for k, v in dataclasses.asdict(self.config).items() if k not in _NOT_FINGERPRINTED}
        probe = {"config": config, "train": _data_probe(windows_train),
                 "val": None if windows_val is None else _data_probe(windows_val)}
        return hashlib.sha256(json.dumps(probe, sort_keys=True, default=str).encode()).hexdigest()

    def _resume(self, path: Path, fingerprint: str) -> dict[str, Any]:
        saved = self._load_checkpoint(path) if self.config.resume else None
        if saved is None:
            return _Progress.fresh()
        if saved.get("fingerprint") != fingerprint:  # a hash collision on the folder's 16 hex digits, in practice
            return _Progress.fresh()
        for name, module in self.modules_.items():
            module.load_state_dict(saved["modules"][name])
        for name, optimizer in self.optimizers_.items():
            optimizer.load_state_dict(saved["optimizers"][name])
        state = "finished training" if saved["finished"] else f"resuming after epoch {saved['epoch']}"
        logger.info("%s: %s from %s", self.method, state, path.parent / saved["file"])
        return saved

    def _load_checkpoint(self, path: Path) -> dict[str, Any] | None:
        """``last.pt``, else ``previous.pt`` when the last one is missing or damaged (a kill between the renames,
        a full disk, a copy cut short); None when neither is usable."""
        for candidate in (path, path.with_name(PREVIOUS_CHECKPOINT_FILE)):
            if not candidate.exists():
                continue
            try:
                saved = torch.load(candidate, map_location=self.device_, weights_only=True)
                _Progress(saved)  # every field a resume needs
                return saved | {"file": candidate.name}
            except Exception as error:  # noqa: BLE001 - any unreadable file is refused, whatever broke it
                logger.warning("%s: refusing the damaged checkpoint %s (%s: %s); trying the one before it",
                               self.method, candidate, type(error).__name__, str(error).splitlines()[0][:200])
        return None

    def _save_checkpoint(self, path: Path, fingerprint: str, progress: _Progress) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint = progress.as_dict() | {
            "fingerprint": fingerprint, "config": dataclasses.asdict(self.config),
            "modules": {k: m.state_dict() for k, m in self.modules_.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers_.items()},
        }
        tmp = path.with_name(f".tmp.{path.name}")
        torch.save(checkpoint, tmp)
        with open(tmp, "rb") as handle:  # on disk before the rename makes it the last checkpoint
            os.fsync(handle.fileno())
        if path.exists():
            path.replace(path.with_name(PREVIOUS_CHECKPOINT_FILE))
        tmp.replace(path)  # a kill between the two renames leaves previous.pt, which _load_checkpoint takes


@dataclasses.dataclass
class _Progress:
    """Where training stands: what a checkpoint needs beyond the weights."""

    epoch: int
    history: dict[str, list[float]]
    best_loss: float
    bad_epochs: int
    best_modules: dict[str, dict[str, torch.Tensor]] | None
    finished: bool

    def __init__(self, saved: dict[str, Any]):
        self.epoch = int(saved["epoch"])
        self.history = {k: list(v) for k, v in saved["history"].items()}
        self.best_loss = float(saved["best_loss"])
        self.bad_epochs = int(saved["bad_epochs"])
        self.best_modules = saved["best_modules"]
        self.finished = bool(saved["finished"])

    @staticmethod
    def fresh() -> dict[str, Any]:
        return {"epoch": 0, "history": {}, "best_loss": math.inf, "bad_epochs": 0, "best_modules": None,
                "finished": False}

    def as_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "history": self.history, "best_loss": self.best_loss,
                "bad_epochs": self.bad_epochs, "best_modules": self.best_modules, "finished": self.finished}


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % 2**63


def _batches(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(order), size):
        yield order[start:start + size]


def checkpoint_files(checkpoint_dir: str | Path) -> list[Path]:
    """The ``last.pt`` of every training under ``checkpoint_dir``, newest first."""
    return sorted(Path(checkpoint_dir).glob(f"*/{CHECKPOINT_FILE}"), key=lambda p: p.stat().st_mtime, reverse=True)


def _data_probe(windows: np.ndarray) -> list:
    """A cheap summary that changes when the windows change (shape and a strided sample's sums)."""
    sample = windows[:: max(1, len(windows) // 64)]
    return [list(windows.shape), float(np.asarray(sample, dtype=np.float64).sum()),
            float(np.abs(np.asarray(sample[-1], dtype=np.float64)).sum())]
