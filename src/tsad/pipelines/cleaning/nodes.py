"""Cleaning nodes: validation, the NaN/inf policy, the GDN recipe, constant channels, and the scaler.

Multi-entity data (an ``(entity, time)`` index) is cleaned and scaled entity by entity.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pandas as pd

from tsad.core import cleaning, preprocessing, scaling
from tsad.core.errors import DataFormatError
from tsad.core.frames import (
    channel_columns,
    entity_label,
    join_entities,
    source_of,
    split_entities,
    validate_typed_frame,
)

logger = logging.getLogger(__name__)

GDN_RECIPE = {"downsample": 10, "drop_first": "6h"}  # methods.md §6.4: median by 10, drop 6 h of start-up


def clean_training_series(raw_train: pd.DataFrame, raw_test: pd.DataFrame,
                          options: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Validate both splits, decide the cleaning on the training split and apply it there.

    The decisions (NaN/inf policy, downsampling, channels constant in training) go in the report, which
    ``clean_test_series`` and a registered model apply to other rows (``tsad.core.preprocessing``).

    Args:
        raw_train: Typed training frame.
        raw_test: Typed test frame with the same channels (and entities), checked here and fingerprinted.
        options: ``nan_policy`` (error | fill | drop), ``max_fill_fraction``, ``gdn_recipe`` (bool; sets
            ``downsample`` 10 and ``drop_first`` "6h"), ``downsample`` (int), ``drop_first`` (duration or row
            count, training only), ``drop_constant`` (channels constant in the training data of every
            entity), ``constant_evidence`` (which of those are kept as evidence, see
            ``tsad.core.cleaning.evidence_channels``; absent: none) and ``evidence_tolerance`` (a larger change
            from the training value is a departure).

    Returns:
        Clean training frame and the report: the decisions, what was filled in training, the data fingerprint,
        the periods (first and last time) of both splits, and for a dataset declared with parties each party's
        channels (``parties``: the VFL methods' default parties).
    """
    validate_typed_frame(raw_train, "training data")
    validate_typed_frame(raw_test, "test data")
    _check_same_channels(raw_train, raw_test)
    trains = split_entities(raw_train)
    if list(trains) != list(split_entities(raw_test)):
        raise DataFormatError(f"{source_of(raw_test, 'test data')}: entities differ from the training data "
                              f"(training: {list(trains)}; test: {list(split_entities(raw_test))})")
    recipe = GDN_RECIPE if options.get("gdn_recipe") else {}
    downsample = int(recipe.get("downsample", options.get("downsample", 1)))
    drop_first = recipe.get("drop_first", options.get("drop_first"))
    policy, max_fill = options.get("nan_policy", "error"), float(options.get("max_fill_fraction", 0.01))
    treated: dict[str, dict[str, int]] = {}  # filled values per channel, or rows and stretches dropped
    for entity in trains:
        label = entity_label(entity, "training data")
        train, treated[label] = cleaning.apply_nan_policy(trains[entity], label, policy, max_fill)
        trains[entity] = cleaning.downsample_median(cleaning.drop_head(train, drop_first), downsample)
    constant = [c for c in channel_columns(raw_train)
                if all(c in cleaning.constant_channels(part) for part in trains.values())] \
        if options.get("drop_constant", True) else []
    if len(constant) == len(channel_columns(raw_train)):
        raise DataFormatError(f"{source_of(raw_train, 'training data')}: every channel is constant in training")
    values = constant_values(trains, constant)
    evidence = cleaning.evidence_channels(values, options.get("constant_evidence", []))  # absent: none
    if constant:
        logger.info("Dropping %d channels constant in training from the model's inputs: %s; kept as evidence "
                    "(a departure from the training value flags the row, cleaning.constant_evidence): %s",
                    len(constant), constant, evidence or "none")
    report = {"fingerprint": fingerprint(raw_train, raw_test), "raw_channels": channel_columns(raw_train),
              "nan_policy": policy, "max_fill_fraction": max_fill,
              "filled": {k: v for k, v in treated.items() if v and policy == "fill"},
              "dropped": {k: v for k, v in treated.items() if v and policy == "drop"}, "dropped_constant": constant,
              "constant_values": values, "constant_evidence": evidence,
              "evidence_tolerance": float(options.get("evidence_tolerance", 0.0)),
              "downsample": downsample, "drop_first": drop_first, "rows_train": sum(map(len, trains.values())),
              "periods": {"train": _period(raw_train), "test": _period(raw_test)},
              **({"parties": raw_train.attrs["parties"]} if "parties" in raw_train.attrs else {}),
              "notes": list(dict.fromkeys([*raw_train.attrs.get("notes", []), *raw_test.attrs.get("notes", []),
                                           *(cleaning.describe_nan_treatment(k, policy, v) for k, v in treated.items()
                                             if v)]))}
    return join_entities(trains).drop(columns=constant), report


def constant_values(trains: dict[str, pd.DataFrame], constant: list[str]) -> dict[str, Any]:
    """Each constant channel's training value: ``{channel: value}``, or ``{channel: {entity: value}}`` for a
    channel constant at a different value in each entity."""
    per_entity = {entity: part[constant].iloc[0].astype(float).to_dict() for entity, part in trains.items()}
    out: dict[str, Any] = {}
    for channel in constant:
        values = {entity: per_entity[entity][channel] for entity in trains}
        out[channel] = next(iter(values.values())) if len(set(values.values())) == 1 else values
    return out


def _period(frame: pd.DataFrame) -> list[str]:
    """First and last time (or step) of a split, as text (the model card shows them)."""
    times = frame.index.get_level_values(-1)
    return [str(times.min()), str(times.max())]


def clean_test_series(raw_test: pd.DataFrame, cleaning_report: dict[str, Any]) -> pd.DataFrame:
    """The test split cleaned by the training decisions, as a registered model cleans new rows."""
    return preprocessing.clean_split(raw_test, cleaning_report, "test data")


def evidence_departures(raw_test: pd.DataFrame, cleaning_report: dict[str, Any]) -> pd.DataFrame:
    """Where the test split's evidence channels depart from their training value, as a registered model finds it."""
    return preprocessing.departures(raw_test, cleaning_report, "test data")


def fingerprint(*frames: pd.DataFrame) -> str:
    """SHA-256 of the frames' values and index: the same data gives the same fingerprint."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def fit_scaler(clean_train: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """Scaling statistics from the training split only, per entity (``options["method"]``: minmax | zscore).

    Returns:
        ``{"method", "columns", "entities": {entity: {"offset", "scale"}}}``; a single series has the
        entity ``""``.
    """
    method = options.get("method", "minmax")
    per_entity = {entity: scaling.fit_scaler(part, method) for entity, part in split_entities(clean_train).items()}
    first = next(iter(per_entity.values()))
    return {"method": method, "columns": first["columns"],
            "entities": {e: {"offset": s["offset"], "scale": s["scale"]} for e, s in per_entity.items()}}


def _check_same_channels(train: pd.DataFrame, test: pd.DataFrame) -> None:
    train_channels, test_channels = channel_columns(train), channel_columns(test)
    if train_channels != test_channels:
        only_train = [c for c in train_channels if c not in test_channels]
        only_test = [c for c in test_channels if c not in train_channels]
        raise DataFormatError(f"{source_of(test, 'test data')}: channels differ from the training data "
                              f"(only in training: {only_train}; only in test: {only_test}; or a different order)")
