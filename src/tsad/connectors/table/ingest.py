"""The ingest node of a dataset declared in configuration: entity selection, cross-file checks, typed frames."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tsad.connectors.entities import read_selected, select_entities
from tsad.connectors.table.series import check_same_channels
from tsad.connectors.table.sources import TableSource
from tsad.core.errors import DataFormatError
from tsad.core.frames import ENTITY, LABEL, SINGLE, channel_columns, join_entities, validate_typed_frame

logger = logging.getLogger(__name__)


def ingest_table(source_train: TableSource, source_test: TableSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ingest node of a dataset declared in configuration: both sides as typed frames.

    Selects the entities (``entities``/``exclude``; by default every entity with training and test files), reads
    them, checks that every file has the training data's channels (the test files' columns are put in the
    training order) and that a side is labelled in all its files or in none, and returns flat frames for a single
    series or ``(entity, time)`` frames for one entity per file.

    Raises:
        DataFormatError: A file's own error (see ``read_cells`` and ``type_cells``), channels that differ
            between files (naming the file, the column and a row), or a side labelled in some files only.
    """
    if source_train.multi != source_test.multi:
        raise DataFormatError(f"{source_test.location}: {'one entity per file' if source_test.multi else 'one series'}"
                              f", but the training data ({source_train.location}) is "
                              f"{'one entity per file' if source_train.multi else 'one series'}; give both as files "
                              "or both as folders (globs)")
    selected = select_entities(source_train, source_test, source_train.entities, source_train.exclude,
                               parameter=source_train.key.rsplit(".", 1)[0] + ".entities") \
        if source_train.multi else [SINGLE]
    trains, tests = read_selected(source_train, selected), read_selected(source_test, selected)
    reference = next(iter(trains.values()))
    for parts in (trains, tests):
        for entity, part in parts.items():
            parts[entity] = check_same_channels(reference, part)
        _check_labels_everywhere(parts)
    if source_test.label and LABEL not in next(iter(tests.values())).columns:
        unlabelled = next(iter(tests.values()))
        raise DataFormatError(f"{unlabelled.attrs.get('source')}: no label column {source_test.label!r} "
                              f"({source_test.key.rsplit('.', 1)[0]}.label); the test data must carry the declared "
                              "label column (leave label out for unlabelled data)")
    raw_train = join_entities(trains) if not source_train.multi else pd.concat(trains, names=[ENTITY])
    raw_test = join_entities(tests) if not source_test.multi else pd.concat(tests, names=[ENTITY])
    raw_train.attrs = {"source": source_train.location, "notes": _notes(trains), **_parties(trains)}
    raw_test.attrs = {"source": source_test.location, "notes": _notes(tests), **_parties(tests)}
    validate_typed_frame(raw_train, source_train.location)
    validate_typed_frame(raw_test, source_test.location)
    logger.info("%s: %d training and %d test rows, %d channels%s; test data %s", source_test.location,
                len(raw_train), len(raw_test), len(channel_columns(reference)),
                f", {len(selected)} entities" if source_train.multi else "",
                "labelled" if LABEL in raw_test.columns else "unlabelled")
    return raw_train, raw_test


def ingest_parties(source_train: TableSource, source_test: TableSource
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, float]]]:
    """Ingest node of a dataset declared with ``parties``: ``ingest_table``'s frames (the parties' files aligned,
    ``tsad.connectors.table.parties``), and the rows each party lost to the alignment per split, summed over the
    entities, as MLflow metrics (``<split>.dropped.<party>``; the catalog prefixes ``alignment.``)."""
    raw_train, raw_test = ingest_table(source_train, source_test)
    metrics = {}
    for split, raw in (("train", raw_train), ("test", raw_test)):
        dropped = raw.attrs["alignment"]
        logger.info("%s: %s rows dropped by the alignment of the parties: %s", source_test.location, split,
                    ", ".join(f"{party} {count}" for party, count in dropped.items()))
        metrics |= {f"{split}.dropped.{party}": {"value": float(count), "step": 0} for party, count in dropped.items()}
    return raw_train, raw_test, metrics


def _parties(parts: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Each party's channels and its rows dropped by the alignment, summed over the entities (``parties`` data)."""
    first = next(iter(parts.values())).attrs
    if "parties" not in first:
        return {}
    dropped = {party: sum(part.attrs["alignment"][party] for part in parts.values()) for party in first["parties"]}
    return {"parties": first["parties"], "alignment": dropped}


def _notes(parts: dict[str, pd.DataFrame]) -> list[str]:
    """Every file's notes (what was accepted without a word in the declaration), for the cleaning report."""
    return list(dict.fromkeys(note for part in parts.values() for note in part.attrs.get("notes", [])))


def _check_labels_everywhere(parts: dict[str, pd.DataFrame]) -> None:
    labelled = [e for e, p in parts.items() if LABEL in p.columns]
    if labelled and len(labelled) != len(parts):
        unlabelled = next(p for p in parts.values() if LABEL not in p.columns)
        with_label = parts[labelled[0]]
        raise DataFormatError(f"{unlabelled.attrs.get('source')}: no label column, but {with_label.attrs.get('source')}"
                              " has one; label every file of a side or none")
