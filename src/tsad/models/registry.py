"""Detector registry: method name -> class, imported lazily so that listing methods never imports torch."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from tsad.models.base import Detector

_ALIASES = {
    "pca": "tsad.models.pca:PcaDetector",
    "random": "tsad.models.random_control:RandomDetector",
    "tman": "tsad.models.tman:TmanDetector",
    "tanogan": "tsad.models.tanogan:TanoganDetector",
    "transformer": "tsad.models.transformer:TransformerDetector",
    "lstm": "tsad.models.lstm_predictor:LstmPredictorDetector",
}


def available() -> list[str]:
    """Names of every registered detector."""
    return sorted(_ALIASES)


def get(method: str) -> type[Detector]:
    """The detector class registered under ``method``."""
    if method not in _ALIASES:
        raise ValueError(f"unknown method {method!r}; available: {available()}")
    module, cls = _ALIASES[method].split(":")
    return getattr(importlib.import_module(module), cls)


def build(params: Mapping[str, Any]) -> Detector:
    """An unfitted detector from model parameters (``params["method"]`` picks the class)."""
    if "method" not in params:
        raise ValueError(f"model parameters need a 'method' key (one of {available()}), got {sorted(params)}")
    return get(params["method"]).from_params(params)


def from_state(state: Mapping[str, Any], device: str | None = None) -> Detector:
    """A fitted detector rebuilt from its checkpoint dict."""
    return get(state["method"]).from_state(state, device=device)
