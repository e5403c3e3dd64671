"""Ingestion nodes of multi-entity datasets: SMD/ASD machines, MSL/SMAP channels, NAB and UCR series.

Each node takes both splits listed by their folder datasets (``tsad.datasets.entity_folders``) and the
dataset's ``ingestion`` parameters, selects the entities (``entities``: names or patterns, or null for every
entity with both splits present; ``exclude``), reads them, and returns typed frames with a two-level
``(entity, step)`` index (``tsad.core.frames``). One node per dataset: a bad file stops it before anything is
saved.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from tsad.connectors.entities import EntitySource, read_selected, select_entities
from tsad.connectors.nab import split_series
from tsad.connectors.smd import CHANNEL_LABEL_PREFIX
from tsad.core.errors import DataFormatError
from tsad.core.frames import ENTITY, LABEL, channel_columns, validate_typed_frame

logger = logging.getLogger(__name__)


def ingest_server_machines(source_train: EntitySource, source_test: EntitySource,
                           options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Type SMD or ASD machines: ``dim_*`` float32 channels, int8 test labels, and per-metric test labels.

    Args:
        source_train: Training split (``SmdFolderDataset``); unlabelled (it may contain anomalies).
        source_test: Test split with ``label`` and the ``label:dim_*`` columns of the interpretation labels.
        options: ``entities`` (names or patterns, or null for every machine with train and test files) and
            ``exclude``.

    Returns:
        ``raw_train``, ``raw_test`` and ``channel_labels_test``: the per-metric labels as int8 columns named
        after the channels, on ``raw_test``'s index (1 = the interpretation label names this metric).
        They are a separate output because every stage treats each column but ``label`` as a channel.
    """
    train, test = _read(source_train, source_test, options)
    per_channel = {}
    for entity, frame in test.items():
        columns = [c for c in frame.columns if c.startswith(CHANNEL_LABEL_PREFIX)]
        per_channel[entity] = frame[columns].rename(columns=lambda c: c[len(CHANNEL_LABEL_PREFIX):])
        test[entity] = frame.drop(columns=columns)
    raw_train, raw_test = _typed(train, source_train), _typed(test, source_test)
    channel_labels = pd.concat(per_channel, names=[ENTITY]).astype(np.int8)
    channel_labels.attrs = {"source": source_test.location}
    return raw_train, raw_test, channel_labels


def ingest_channels(source_train: EntitySource, source_test: EntitySource,
                    options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type MSL or SMAP channels: ``value`` and ``cmd_*`` float32 channels, int8 test labels.

    Args:
        source_train: Training split (``TelemanomFolderDataset``); unlabelled.
        source_test: Test split, labelled from ``labeled_anomalies.csv``.
        options: ``entities`` and ``exclude`` (channel ids such as ``P-2``, or patterns such as ``A-*``).
    """
    train, test = _read(source_train, source_test, options)
    return _typed(train, source_train), _typed(test, source_test)


def ingest_nab(source_train: EntitySource, source_test: EntitySource,
               options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type NAB series (``value``, ``label``), each cut in time into a training and a test part.

    Args:
        source_train: The series (``NabFolderDataset``); each one's leading part becomes training data.
        source_test: The series again; each one's remaining part becomes test data.
        options: ``entities``, ``exclude`` (names ``<category>/<name>`` or patterns such as ``real*/*``),
            ``train_fraction`` (the leading share of each series used for training, default 0.15) and
            ``protocol``: ``split`` (default: the cut above) or ``paper``, TAnoGAN's transductive protocol
            (../shared/docs/methods.md §4.4) where training and test data are both the whole series.

    Returns:
        ``raw_train`` and ``raw_test``, both labelled from the NAB windows (the training part may hold
        labelled anomalies: NAB's windows are not restricted to the test part).
    """
    fraction = float(options.get("train_fraction", 0.15))
    protocol = options.get("protocol", "split")
    if protocol not in ("split", "paper"):
        raise ValueError(f"ingestion.protocol must be 'split' or 'paper', got {protocol!r}")
    train, test = _read(source_train, source_test, options)
    if protocol == "paper":
        return _typed(train, source_train), _typed(test, source_test)
    train = {e: split_series(frame, fraction)[0] for e, frame in train.items()}
    test = {e: split_series(frame, fraction)[1] for e, frame in test.items()}
    return _typed(train, source_train), _typed(test, source_test)


def ingest_ucr(source_train: EntitySource, source_test: EntitySource,
               options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type UCR archive series: the training prefix and the rest (``value``, ``label``), steps = file rows.

    Args:
        source_train: Training prefixes (``UcrArchiveDataset``), all normal.
        source_test: The rest of each series, with its one labelled anomaly.
        options: ``entities`` and ``exclude`` (names ``<NNN>_<name>`` or patterns such as ``00*``).
    """
    train, test = _read(source_train, source_test, options)
    return _typed(train, source_train), _typed(test, source_test)


def _read(source_train: EntitySource, source_test: EntitySource,
          options: dict[str, Any]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    selected = select_entities(source_train, source_test, options.get("entities"), options.get("exclude"),
                               parameter="ingestion.entities")
    logger.info("%s: reading %d entities", source_test.location, len(selected))
    return read_selected(source_train, selected), read_selected(source_test, selected)


def _typed(parts: dict[str, pd.DataFrame], source: EntitySource) -> pd.DataFrame:
    """float32 channels, int8 label, ``(entity, step)`` index; every part must have the same channels."""
    first_entity, first = next(iter(parts.items()))
    channels = channel_columns(first)
    typed = {}
    for entity, frame in parts.items():
        if channel_columns(frame) != channels:
            raise DataFormatError(f"{frame.attrs.get('source', entity)}: channels {channel_columns(frame)} differ from "
                             f"{channels} of {first_entity}")
        out = frame[channels].astype(np.float32)
        if LABEL in frame.columns:
            out[LABEL] = frame[LABEL].to_numpy(dtype=np.int8)
        typed[entity] = out
    frame = pd.concat(typed, names=[ENTITY])
    frame.attrs = {"source": source.location}
    validate_typed_frame(frame, source.location)
    return frame
