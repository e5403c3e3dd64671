"""The preprocessing recipe: the cleaning decisions, scaler and selected features fitted on training data, and the
one function that applies them to new rows.

The training pipeline fits the recipe's parts (``tsad.pipelines.cleaning``, ``tsad.pipelines.feature_selection``)
and applies them to its test split with the functions below; a registered model applies them to the rows it
receives with ``preprocess``, which runs the same functions in the same order. A new preprocessing step goes here,
once, and both paths take it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tsad.core import cleaning, scaling
from tsad.core.errors import DataFormatError
from tsad.core.frames import GAP, LABEL, entity_label, join_entities, source_of, split_entities


def clean_split(frame: pd.DataFrame, decisions: dict[str, Any], name: str) -> pd.DataFrame:
    """A split cleaned by the training data's decisions (``decisions``: the cleaning report): the NaN/inf policy
    (``drop`` marks the rows after dropped ones, as in training), the downsampling and the channels dropped as
    constant in training, entity by entity.

    Raises:
        DataFormatError: A non-finite value the policy does not allow, named by column and row.
    """
    parts = {}
    for entity, part in split_entities(frame).items():
        label = entity_label(entity, name)
        filled, _ = cleaning.apply_nan_policy(part, label, decisions["nan_policy"], decisions["max_fill_fraction"])
        parts[entity] = cleaning.downsample_median(filled, decisions["downsample"])
    return join_entities(parts).drop(columns=decisions["dropped_constant"])


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
