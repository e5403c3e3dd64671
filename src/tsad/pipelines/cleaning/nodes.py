"""Cleaning nodes: validation, the NaN/inf policy, the GDN recipe, constant channels, and scaling."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tsad.core import cleaning, scaling
from tsad.core.errors import DataFormatError
from tsad.core.frames import channel_columns, source_of, validate_typed_frame

logger = logging.getLogger(__name__)

GDN_RECIPE = {"downsample": 10, "drop_first": "6h"}  # methods.md §6.4: median by 10, drop 6 h of start-up


def clean_series(raw_train: pd.DataFrame, raw_test: pd.DataFrame,
                 options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate both splits, apply the NaN/inf policy, the optional GDN recipe and drop constant channels.

    Args:
        raw_train: Typed training frame.
        raw_test: Typed test frame with the same channels.
        options: ``nan_policy`` (error | fill), ``max_fill_fraction``, ``gdn_recipe`` (bool; sets
            ``downsample`` 10 and ``drop_first`` "6h"), ``downsample`` (int), ``drop_first`` (duration or row
            count, training only) and ``drop_constant`` (channels constant in training).

    Returns:
        Clean training frame, clean test frame, and a report of what was filled and dropped.
    """
    validate_typed_frame(raw_train, "training data")
    validate_typed_frame(raw_test, "test data")
    _check_same_channels(raw_train, raw_test)
    recipe = GDN_RECIPE if options.get("gdn_recipe") else {}
    downsample = int(recipe.get("downsample", options.get("downsample", 1)))
    drop_first = recipe.get("drop_first", options.get("drop_first"))
    policy, max_fill = options.get("nan_policy", "error"), float(options.get("max_fill_fraction", 0.01))
    train, filled_train = cleaning.fill_non_finite(raw_train, "training data", policy, max_fill)
    test, filled_test = cleaning.fill_non_finite(raw_test, "test data", policy, max_fill)
    train = cleaning.downsample_median(cleaning.drop_head(train, drop_first), downsample)
    test = cleaning.downsample_median(test, downsample)
    constant = cleaning.constant_channels(train) if options.get("drop_constant", True) else []
    if len(constant) == len(channel_columns(train)):
        raise DataFormatError(f"{source_of(raw_train, 'training data')}: every channel is constant in training")
    if constant:
        logger.info("Dropping %d channels constant in training: %s", len(constant), constant)
    report = {"filled_train": filled_train, "filled_test": filled_test, "dropped_constant": constant,
              "downsample": downsample, "drop_first": drop_first,
              "rows_train": len(train), "rows_test": len(test)}
    return train.drop(columns=constant), test.drop(columns=constant), report


def fit_scaler(clean_train: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """Scaling statistics from the training split only (``options["method"]``: minmax | zscore)."""
    return scaling.fit_scaler(clean_train, options.get("method", "minmax"))


def apply_scaler(frame: pd.DataFrame, scaler: dict[str, Any]) -> pd.DataFrame:
    """Scale a split with the training statistics."""
    return scaling.apply_scaler(frame, scaler)


def _check_same_channels(train: pd.DataFrame, test: pd.DataFrame) -> None:
    train_channels, test_channels = channel_columns(train), channel_columns(test)
    if train_channels != test_channels:
        only_train = [c for c in train_channels if c not in test_channels]
        only_test = [c for c in test_channels if c not in train_channels]
        raise DataFormatError(f"{source_of(test, 'test data')}: channels differ from the training data "
                              f"(only in training: {only_train}; only in test: {only_test}; or a different order)")
