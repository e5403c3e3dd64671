"""Training node: fit the configured detector on training windows (validation windows for early stopping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tsad.core.windows import WindowedSeries
from tsad.models import registry


def fit_detector(windows_train: dict[str, WindowedSeries], windows_val: dict[str, WindowedSeries],
                 model: dict[str, Any], cleaning_report: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, list[dict[str, float]]], dict[str, Any]]:
    """Fit ``model["method"]`` (the other keys are its configuration), one detector per entity.

    A method that reads channels by name gets them (``channel_names``), and a VFL method without ``parties`` the
    dataset's declared parties (``declared_parties``, from the data's ``cleaning_report``).

    Returns:
        The checkpoint dict ``{"method", "channels", "window", "stride", "entities": {entity: state}}``, the
        training history in MLflow's metric-history form (``{name: [{"value", "step"}, ...]}``) and the detector's
        artifacts (``Detector.artifacts``: tables by name), names prefixed by the entity for multi-entity data.
    """
    states, history, artifacts = {}, {}, {}
    for entity, train in windows_train.items():
        config = dict(model)
        if entity and config.get("checkpoint_dir"):  # one checkpoint folder per entity
            config["checkpoint_dir"] = str(Path(config["checkpoint_dir"]) / entity)
        if "channel_names" in config and config["channel_names"] is None:  # a method that reads channels by name
            config["channel_names"] = list(train.channels)
        if "parties" in config and config["parties"] is None:  # a VFL method: the dataset's parties, if declared
            config["parties"] = declared_parties(cleaning_report, train.channels)
        detector = registry.build(config).fit(train.windows, windows_val[entity].windows)
        states[entity] = detector.state()
        prefix = f"{entity}." if entity else ""
        history |= {f"{prefix}{name}": [{"value": float(v), "step": i} for i, v in enumerate(values)]
                    for name, values in detector.history_.items()}
        artifacts |= {f"{entity}/{name}" if entity else name: table for name, table in detector.artifacts().items()}
    first = next(iter(windows_train.values()))
    checkpoint = {"method": model["method"], "channels": list(first.channels), "window": first.window,
                  "stride": first.stride, "entities": states}
    return checkpoint, history, artifacts


def declared_parties(cleaning_report: dict[str, Any], channels: list[str]) -> list[dict[str, Any]] | None:
    """The parties of a dataset declared with ``parties`` (its cleaning report's), as a VFL method's ``parties``,
    each with its channels that reach the model (a party whose channels were all dropped is left out); None for
    other datasets."""
    declared = cleaning_report.get("parties")
    if not declared:
        return None
    present = set(channels)
    parties = [{"name": name, "channels": [c for c in owned if c in present]} for name, owned in declared.items()]
    return [party for party in parties if party["channels"]]
