"""The detector interface every method implements: fit / decision_function / state / from_state.

A detector takes windows shaped (B, W, C) (batch, window, channels; float32) and returns one score per
window, higher = more anomalous. Thresholds never live in a detector (see ``tsad.core.thresholds``), and
windows never get padded here (``tsad.core.windows.to_timestamps`` aligns scores with timestamps).
Checkpoints are plain dicts of config, tensors and history, loadable with ``torch.load(weights_only=True)``.

A detector that reads a window in other modalities declares them (``views``: cosine matrices ...) and gets them per
batch from ``window_views``; one that learns something people should see (a sensor graph ...) returns it from
``artifacts``, and the training pipeline saves and logs it. Neither needs a change to the stage pipelines.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from tsad.core.device import resolve_device, use_threads
from tsad.core.options import from_mapping
from tsad.core.seeding import seed_everything
from tsad.core.views import VIEWS


@dataclasses.dataclass
class DetectorConfig:
    """Options shared by every detector.

    Attributes:
        method: The name the method runs under (``tman``; for a method declared in configuration, its key under
            ``methods``); filled by ``Detector.from_params``.
        seed: Seeds every generator used by ``fit`` and ``decision_function``.
        device: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda[:i]``.
        score_batch_size: Windows scored per batch.
        threads: CPU threads torch uses in ``fit`` and scoring; None: one per physical core. Scores depend on it
            (floats are summed in another order), so a run is repeatable on the same thread count.
    """

    method: str = ""
    seed: int = 0
    device: str = "auto"
    score_batch_size: int = 4096
    threads: int | None = None

    @classmethod
    def from_dict(cls, params: Mapping[str, Any], where: str | None = None) -> Self:
        """Build the config from parameters, refusing keys the method does not know and values of another type,
        naming them (``where``: how to call the parameters in the message, the class name by default)."""
        return from_mapping(cls, params, where or cls.__name__)


class Detector(ABC):
    """Base class: public methods live here, subclasses fill the ``_`` hooks.

    Fitted attributes end in ``_``: ``window_``, ``n_channels_``, ``device_``, ``history_``.
    """

    # The built-in name of the method (``tman``); a detector declared in configuration by its import path needs none.
    name: ClassVar[str] = ""
    config_class: ClassVar[type[DetectorConfig]] = DetectorConfig
    # Views of a window the detector reads besides its values, by name in tsad.core.views.VIEWS (``("cosine",)``).
    views: ClassVar[tuple[str, ...]] = ()
    # Optional: the method scores each channel (``channel_scores``), and its window score is their sum.
    channel_scored: ClassVar[bool] = False
    # Optional: the method learns a sensor graph per window (``window_graphs``), which the pipeline summarises over the
    # test windows for people to look at.
    graph_learned: ClassVar[bool] = False

    def __init__(self, config: DetectorConfig):
        self.config = config
        self.window_: int | None = None
        self.n_channels_: int | None = None
        self.device_: str | None = None
        self.history_: dict[str, list[float]] = {}

    @classmethod
    def from_params(cls, params: Mapping[str, Any], where: str | None = None) -> Self:
        """A detector configured from a parameters mapping (``method`` defaults to the class's ``name``)."""
        return cls(cls.config_class.from_dict({"method": cls.name} | dict(params), where))

    @classmethod
    def test_config(cls) -> DetectorConfig:
        """A tiny CPU configuration for the shared contract tests (fits in well under 5 s)."""
        return cls.config_class(method=cls.name, device="cpu")

    @property
    def method(self) -> str:
        """The name the method runs under, for messages and logs."""
        return self.config.method or self.name or type(self).__name__

    def fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None = None) -> Self:
        """Fit on normal windows; ``windows_val`` (also normal) is for early stopping where a method has it."""
        _check_windows(windows_train, "windows_train")
        unknown = sorted(set(self.views) - set(VIEWS))
        if unknown:
            raise ValueError(f"{type(self).__name__} declares unknown view(s) {unknown}; known: {sorted(VIEWS)}")
        if windows_val is not None:
            _check_windows(windows_val, "windows_val", windows_train.shape[1:])
        seed_everything(self.config.seed)
        threads = use_threads(self.config.threads)
        self.device_ = resolve_device(self.config.device)
        self.window_, self.n_channels_ = int(windows_train.shape[1]), int(windows_train.shape[2])
        self._fit(windows_train, windows_val)
        self.history_["threads"] = [float(threads)]  # logged with the training history: results depend on it
        return self

    def decision_function(self, windows: np.ndarray) -> np.ndarray:
        """Anomaly score of each window, shape (B,), float64; higher is more anomalous."""
        if self.window_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        _check_windows(windows, "windows", (self.window_, self.n_channels_))
        seed_everything(self.config.seed)
        use_threads(self.config.threads)
        return self._score_windows(windows)

    def _score_windows(self, windows: np.ndarray) -> np.ndarray:
        """Score in batches of ``score_batch_size`` on ``device_``; override only for non-tensor scorers."""
        import torch  # noqa: PLC0415 - torch on first use: the config loader imports this module

        out = np.empty(len(windows), dtype=np.float64)
        step = self.config.score_batch_size
        with torch.inference_mode():
            for start in range(0, len(windows), step):
                batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + step], dtype=np.float32))
                out[start:start + step] = self._score_batch(batch.to(self.device_)).double().cpu().numpy()
        return out

    def window_views(self, batch: Any) -> dict[str, Any]:
        """A (B, W, C) batch's ``values`` and each view the detector declares, computed on the batch's device
        (a NumPy batch gets NumPy views)."""
        import torch  # noqa: PLC0415 - torch on first use: the config loader imports this module

        values = torch.from_numpy(np.ascontiguousarray(batch)) if isinstance(batch, np.ndarray) else batch
        views = {name: VIEWS[name](values) for name in self.views}
        if isinstance(batch, np.ndarray):
            views = {name: view.cpu().numpy() for name, view in views.items()}
        return {"values": batch} | views

    def artifacts(self) -> dict[str, pd.DataFrame]:
        """What the fitted detector learnt beyond its weights, by name, for people to look at (a learned sensor graph
        as a channels x channels table, generated samples ...). The training pipeline saves each as Parquet and logs
        it to MLflow; none by default."""
        return {}

    def channel_scores(self, windows: np.ndarray) -> np.ndarray:
        """Per-channel anomaly scores of each window, shape (B, C), float64; their sum is ``decision_function``.

        Optional: only detectors with ``channel_scored`` have them (per-channel thresholds use them).
        """
        if not self.channel_scored:
            raise NotImplementedError(f"{type(self).__name__} gives no per-channel scores")
        if self.window_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        _check_windows(windows, "windows", (self.window_, self.n_channels_))
        seed_everything(self.config.seed)
        use_threads(self.config.threads)
        return self._channel_score_windows(windows)

    def _channel_score_windows(self, windows: np.ndarray) -> np.ndarray:
        """``_score_windows`` for ``_channel_score_batch``: (B, C) scores in batches on ``device_``."""
        import torch  # noqa: PLC0415 - torch on first use: the config loader imports this module

        out = np.empty((len(windows), self.n_channels_), dtype=np.float64)
        step = self.config.score_batch_size
        with torch.inference_mode():
            for start in range(0, len(windows), step):
                batch = torch.from_numpy(np.ascontiguousarray(windows[start:start + step], dtype=np.float32))
                out[start:start + step] = self._channel_score_batch(batch.to(self.device_)).double().cpu().numpy()
        return out

    def _channel_score_batch(self, batch: Any) -> Any:
        """Per-channel scores of a (B, W, C) float32 tensor on ``device_``, as a (B, C) tensor."""
        raise NotImplementedError(f"{type(self).__name__} gives no per-channel scores")

    def window_graphs(self, windows: np.ndarray) -> np.ndarray:
        """The sensor graph the fitted model uses on each window, shape (B, C, C), float64: entry ``[k, j]`` is the
        weight of sensor ``k``'s message to sensor ``j``.

        Optional: only detectors with ``graph_learned`` have them.
        """
        if not self.graph_learned:
            raise NotImplementedError(f"{type(self).__name__} learns no sensor graph")
        if self.window_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        _check_windows(windows, "windows", (self.window_, self.n_channels_))
        seed_everything(self.config.seed)
        use_threads(self.config.threads)
        return self._window_graphs(windows)

    def _window_graphs(self, windows: np.ndarray) -> np.ndarray:
        """``window_graphs`` after the checks (batched on ``device_``)."""
        raise NotImplementedError(f"{type(self).__name__} learns no sensor graph")

    def state(self) -> dict[str, Any]:
        """Checkpoint as a plain dict: config, fitted geometry, tensors and history."""
        if self.window_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return {"method": self.method, "detector": import_path(type(self)), "config": dataclasses.asdict(self.config),
                "window": self.window_,
                "n_channels": self.n_channels_, "tensors": self._state_tensors(), "history": self.history_}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], device: str | None = None) -> Self:
        """Rebuild a fitted detector from ``state()``; ``device`` overrides the configured one."""
        detector = cls(cls.config_class.from_dict(state["config"]))
        detector.window_, detector.n_channels_ = int(state["window"]), int(state["n_channels"])
        detector.device_ = resolve_device(device or detector.config.device)
        detector.history_ = dict(state.get("history", {}))
        detector._load_state_tensors({k: v.to(detector.device_) for k, v in state["tensors"].items()})
        return detector

    @abstractmethod
    def _fit(self, windows_train: np.ndarray, windows_val: np.ndarray | None) -> None:
        """Learn from the training windows (device and seed are already set)."""

    def _score_batch(self, batch: Any) -> Any:
        """Scores of a (B, W, C) float32 tensor on ``device_``, as a (B,) tensor."""
        raise NotImplementedError(f"{type(self).__name__} must implement _score_batch or _score_windows")

    @abstractmethod
    def _state_tensors(self) -> dict[str, Any]:
        """The fitted tensors (CPU) to checkpoint."""

    @abstractmethod
    def _load_state_tensors(self, tensors: dict[str, Any]) -> None:
        """Restore the tensors given by ``_state_tensors`` (already on ``device_``)."""


def import_path(cls: type) -> str:
    """``package.module.Class``: where a class is imported from (``tsad.models.registry.get`` reads it back)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_windows(windows: np.ndarray, name: str, shape: tuple[int | None, ...] | None = None) -> None:
    if not isinstance(windows, np.ndarray) or windows.ndim != 3:
        raise ValueError(f"{name} must be a (B, W, C) array, got {type(windows).__name__} "
                         f"{getattr(windows, 'shape', '')}")
    if len(windows) == 0:
        raise ValueError(f"{name} holds no windows")
    if shape is not None and tuple(windows.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} have shape (W, C) = {windows.shape[1:]}, the detector was fitted on {shape}")
