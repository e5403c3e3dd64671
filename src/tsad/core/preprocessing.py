"""The preprocessing recipe: the cleaning decisions, scaler and selected features fitted on training data, and the
one function that applies them to new rows.

The training pipeline fits the recipe's parts (``tsad.pipelines.cleaning``, ``tsad.pipelines.feature_selection``)
and applies them to its test split with the functions below; a registered model applies them to the rows it
receives with ``preprocess``, which runs the same functions in the same order. A new preprocessing step goes here,
once, and both paths take it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tsad.core import cleaning, scaling
from tsad.core.errors import DataFormatError
from tsad.core.frames import GAP, LABEL, entity_label, join_entities, source_of, split_entities


def clean_split(frame: pd.DataFrame, decisions: dict[str, Any], name: str) -> pd.DataFrame:
    """A split cleaned by the training data's decisions (``decisions``: the cleaning report): the NaN/inf policy
    (``drop`` marks the rows after dropped ones, as in training), the downsampling and the channels dropped as
    constant in training, entity by entity (those kept as evidence go to ``departures``).

    Raises:
        DataFormatError: A non-finite value the policy does not allow, named by column and row.
    """
    return _cleaned(frame, decisions, name).drop(columns=decisions["dropped_constant"])


def departures(frame: pd.DataFrame, decisions: dict[str, Any], name: str) -> pd.DataFrame:
    """Where the evidence channels (``decisions["constant_evidence"]``: constant in training, kept as evidence)
    depart from their training value by more than ``evidence_tolerance``, on the index ``clean_split`` gives.

    Returns:
        One int8 column (1: departed) per evidence channel (none when there are none).

    Raises:
        DataFormatError: An entity without training values.
    """
    # Cleaning reports written before evidence channels have neither key: no evidence channel.
    evidence, tolerance = list(decisions.get("constant_evidence", [])), decisions.get("evidence_tolerance", 0.0)
    parts = {}
    # Under ``drop`` a row goes when any channel is missing, so the rows kept depend on every channel.
    kept = _cleaned(frame if decisions["nan_policy"] == "drop" else frame[evidence], decisions, name)[evidence]
    for entity, part in split_entities(kept).items():
        trained = [_training_value(decisions["constant_values"][c], entity, c, name) for c in evidence]
        departed = np.abs(part.to_numpy(dtype=np.float64) - np.asarray(trained, dtype=np.float64)) > tolerance
        parts[entity] = pd.DataFrame(departed.astype(np.int8), index=part.index, columns=evidence)
    return join_entities(parts)


def _training_value(value: float | dict[str, float], entity: str, channel: str, name: str) -> float:
    if not isinstance(value, dict):
        return value
    if entity not in value:
        raise DataFormatError(f"{entity_label(entity, name)}: no training value of evidence channel {channel!r} "
                              f"for this entity; the model knows entities {sorted(value)}")
    return value[entity]


def _cleaned(frame: pd.DataFrame, decisions: dict[str, Any], name: str) -> pd.DataFrame:
    """The NaN/inf policy and the downsampling, entity by entity."""
    parts = {}
    for entity, part in split_entities(frame).items():
        label = entity_label(entity, name)
        filled, _ = cleaning.apply_nan_policy(part, label, decisions["nan_policy"], decisions["max_fill_fraction"])
        parts[entity] = cleaning.downsample_median(filled, decisions["downsample"])
    return join_entities(parts)


def scale(frame: pd.DataFrame, scaler: dict[str, Any]) -> pd.DataFrame:
    """A split scaled with each entity's training statistics (``tsad.pipelines.cleaning.nodes.fit_scaler``)."""
    parts = split_entities(frame)
    unknown = [e for e in parts if e not in scaler["entities"]]
    if unknown:
        raise DataFormatError(f"{source_of(frame, 'data')}: no scaling statistics for entities {unknown}")
    return join_entities({e: scaling.apply_scaler(part, {"columns": scaler["columns"], **scaler["entities"][e]})
                          for e, part in parts.items()})


def select(frame: pd.DataFrame, selected_features: list[str]) -> pd.DataFrame:
    """The selected channels of a split (and its label and gaps)."""
    columns = list(selected_features) + [c for c in (LABEL, GAP) if c in frame.columns]
    return frame[columns].copy()


def preprocess(frame: pd.DataFrame, recipe: dict[str, Any], name: str) -> pd.DataFrame:
    """Typed rows to the features a detector's windows are cut from: ``clean_split``, ``scale`` and ``select`` with
    the recipe's ``cleaning``, ``scaler`` and ``selected_features``, as the training pipeline did its test split."""
    cleaned = clean_split(frame, recipe["cleaning"], name)
    return select(scale(cleaned, recipe["scaler"]), recipe["selected_features"])
