"""Multi-entity datasets as found on disk: one reader per entity, read lazily, and the entity selection.

SMD machines, ASD servers, MSL/SMAP channels, NAB series and UCR series are each a folder of per-entity files.
A connector lists one split of such a folder as an ``EntitySource``: a reader per entity whose files are
present (nothing is read yet, as with Kedro's ``PartitionedDataset``), plus the entities that the dataset's
label files name but whose data files are absent (9 of SMD's 28 machines here). ``select_entities`` then
picks the entities a run uses from the parameters, so that a subset reads only its own files, and
``read_entities`` and ``typed_entities`` give the ingest nodes of these datasets their typed frames with a
two-level ``(entity, step)`` index (``tsad.core.frames``).
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsad.core.errors import DataFormatError
from tsad.core.frames import ENTITY, LABEL, channel_columns, validate_typed_frame

logger = logging.getLogger(__name__)

Reader = Callable[[], pd.DataFrame]
_PATTERN_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class EntitySource:
    """One split of a multi-entity dataset, listed but not read.

    Attributes:
        location: Where the split comes from (a folder), for messages.
        readers: Entity name -> function reading that entity's frame, in the dataset's order. A frame has a
            ``step`` index, float64 channel columns, an int8 ``label`` column when the split is labelled,
            and ``attrs["source"]`` naming its file(s).
        missing: Entity name -> the data file expected but absent, for entities that the dataset's label
            files name (so a run that asks for them can say which file is missing).
    """

    location: str
    readers: Mapping[str, Reader]
    missing: Mapping[str, str] = field(default_factory=dict)


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value (``machine-1-2`` before ``machine-1-10``)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def find_file(folder: Path, stem: str, suffixes: Iterable[str]) -> Path | None:
    """The file ``folder/<stem><suffix>`` for the one suffix present (e.g. ``.txt`` or ``.txt.gz``).

    Raises:
        DataFormatError: More than one of the suffixes is present, so which one to read is ambiguous.
    """
    found = [folder / f"{stem}{suffix}" for suffix in suffixes if (folder / f"{stem}{suffix}").is_file()]
    if len(found) > 1:
        raise DataFormatError(f"{folder}: both {found[0].name} and {found[1].name} exist; keep one of them")
    return found[0] if found else None


def entities_in(folder: Path, suffixes: Iterable[str]) -> list[str]:
    """Names of the files in ``folder`` ending in one of ``suffixes``, without it, in natural order."""
    suffixes = tuple(suffixes)
    if not folder.is_dir():
        return []
    names = set()
    for path in folder.iterdir():
        for suffix in suffixes:
            if path.is_file() and path.name.endswith(suffix):
                names.add(path.name[: -len(suffix)])
                break
    return sorted(names, key=natural_key)


def select_entities(train: EntitySource, test: EntitySource, entities: list[str] | None = None,
                    exclude: list[str] | None = None, parameter: str = "entities") -> list[str]:
    """The entities a run uses, in the dataset's order.

    Args:
        train: The training split.
        test: The test split.
        entities: Names or shell-style patterns (``realKnownCause/*``), as a list or as one string separated by
            spaces (``--params`` cannot hold a comma); ``None`` takes every entity with both splits present. An
            exact name must have its files; a pattern takes the matching entities that have them.
        exclude: Names or patterns removed from the selection.
        parameter: What the parameter is called, for messages.

    Returns:
        The selected entity names (at least one).

    Raises:
        DataFormatError: A name whose files are absent (naming the file expected), a name or pattern that
            matches no entity of the dataset, or an empty selection.
    """
    complete = [e for e in train.readers if e in test.readers]
    known = dict.fromkeys([*train.readers, *train.missing, *test.readers, *test.missing])
    incomplete = {e: _why_incomplete(e, train, test) for e in known if e not in set(complete)}
    if entities is None:
        chosen = set(complete)
        if incomplete:
            logger.info("%s: %d entities lack data files and are skipped: %s", test.location, len(incomplete),
                        "; ".join(f"{e} ({why})" for e, why in incomplete.items()))
    else:
        chosen = set()
        for item in _as_list(entities, parameter):
            matches = _matches(item, known, test.location, parameter)
            if not _is_pattern(item) and item in incomplete:
                raise DataFormatError(f"{item} is named in {parameter} but {incomplete[item]}")
            skipped = [e for e in matches if e in incomplete]
            if skipped:
                logger.info("%s: %s matches %d entities without data files, skipped: %s", test.location, item,
                            len(skipped), skipped)
            chosen.update(e for e in matches if e not in incomplete)
    for item in _as_list(exclude or [], "exclude"):
        chosen.difference_update(_matches(item, known, test.location, "exclude"))
    selected = [e for e in complete if e in chosen]
    if not selected:
        raise DataFormatError(f"{test.location}: no entity selected ({parameter}: {entities}, exclude: {exclude}; "
                              f"entities with data files: {_preview(complete)})")
    return selected


def read_selected(source: EntitySource, selected: list[str]) -> dict[str, pd.DataFrame]:
    """Read the selected entities of one split (each reader names its own file in errors)."""
    return {entity: source.readers[entity]() for entity in selected}


def read_entities(source_train: EntitySource, source_test: EntitySource,
                  options: dict[str, Any]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Both splits of the entities that ``options`` select (``entities``: names or patterns, or null for every
    entity with both splits present; ``exclude``), read entity by entity."""
    selected = select_entities(source_train, source_test, options.get("entities"), options.get("exclude"),
                               parameter="ingestion.entities")
    logger.info("%s: reading %d entities", source_test.location, len(selected))
    return read_selected(source_train, selected), read_selected(source_test, selected)


def typed_entities(parts: dict[str, pd.DataFrame], source: EntitySource) -> pd.DataFrame:
    """float32 channels, int8 label, ``(entity, step)`` index; every part must have the same channels."""
    first_entity, first = next(iter(parts.items()))
    channels = channel_columns(first)
    typed = {}
    for entity, frame in parts.items():
        if channel_columns(frame) != channels:
            raise DataFormatError(f"{frame.attrs.get('source', entity)}: channels {channel_columns(frame)} differ "
                                  f"from {channels} of {first_entity}")
        out = frame[channels].astype(np.float32)
        if LABEL in frame.columns:
            out[LABEL] = frame[LABEL].to_numpy(dtype=np.int8)
        typed[entity] = out
    frame = pd.concat(typed, names=[ENTITY])
    frame.attrs = {"source": source.location}
    validate_typed_frame(frame, source.location)
    return frame


def _why_incomplete(entity: str, train: EntitySource, test: EntitySource) -> str:
    for split in (train, test):
        if entity not in split.readers:
            return split.missing.get(entity, f"it has no data file under {split.location}")
    return "it is incomplete"  # unreachable: complete entities are never asked about


def _as_list(items: object, parameter: str) -> list[str]:
    if isinstance(items, str):  # from the command line, where Kedro splits --params at commas
        items = items.split()
    if not isinstance(items, list | tuple):
        raise DataFormatError(f"{parameter} must be a list of entity names or patterns, or one string of them "
                              f"separated by spaces (or null for all), got {items!r}")
    return [str(item) for item in items]


def _is_pattern(item: str) -> bool:
    return bool(_PATTERN_CHARACTERS & set(item))


def _matches(item: str, known: Mapping[str, None], location: str, parameter: str) -> list[str]:
    matches = fnmatch.filter(known, item) if _is_pattern(item) else [item] if item in known else []
    if not matches:
        raise DataFormatError(f"{location}: {parameter} names {item!r}, which matches no entity of the dataset; "
                              f"known entities: {_preview(list(known))}")
    return matches


def _preview(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown} ... ({len(names)} in all)" if len(names) > limit else shown or "none"
