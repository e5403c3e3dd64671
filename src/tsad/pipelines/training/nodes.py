"""Training node: fit the configured detector on training windows (validation windows for early stopping)."""

from __future__ import annotations

from typing import Any

from tsad.core.windows import WindowedSeries
from tsad.models import registry


def fit_detector(windows_train: WindowedSeries, windows_val: WindowedSeries,
                 model: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, float]]]]:
    """Fit ``model["method"]`` with the other keys as its configuration.

    Returns:
        The checkpoint dict (``Detector.state()`` plus the channel names and stride it was fitted on) and
        the training history in MLflow's metric-history form (``{name: [{"value", "step"}, ...]}``).
    """
    detector = registry.build(model).fit(windows_train.windows, windows_val.windows)
    state = detector.state() | {"channels": list(windows_train.channels), "stride": windows_train.stride}
    history = {name: [{"value": float(v), "step": i} for i, v in enumerate(values)]
               for name, values in detector.history_.items()}
    return state, history
