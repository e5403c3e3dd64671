"""What ``tsad.datasets.TableSourceDataset`` loads: one side's files listed as lazy per-entity readers of typed
frames, or new data to score as the rows a registered model takes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tsad.connectors.entities import EntitySource
from tsad.connectors.table.listing import list_files
from tsad.connectors.table.parties import party_entities, party_layouts, read_parties
from tsad.connectors.table.series import cut_series, read_series
from tsad.connectors.table.source_spec import TableSpec
from tsad.core.frames import ENTITY, SINGLE
from tsad.serving import input_format, rows_from_frame


@dataclass(frozen=True)
class TableSource(EntitySource):
    """One side (training or test) of a declared dataset, listed but not read.

    Attributes:
        multi: One entity per file (a folder or a glob); False for a single series.
        entities: The ``entities`` setting (names or patterns; null: every entity with both sides).
        exclude: The ``exclude`` setting.
        key: The configuration key of these files, for messages.
        label: The declared label column (None: the dataset is unlabelled).
    """

    multi: bool = False
    entities: Any = None
    exclude: Any = None
    key: str = ""
    label: str | None = None


def table_source(spec: TableSpec, side: str) -> TableSource:
    """List one side's files as lazy per-entity readers of typed frames (the split applied when configured)."""
    if side not in ("train", "test"):
        raise ValueError(f"side must be train or test, got {side!r}")
    if spec.parties:
        return _parties_source(spec, side)
    paths, key = (spec.test, spec.key("test")) if side == "test" and spec.test is not None else \
        (spec.train, spec.key("train"))
    layout = list_files(paths, spec, key)

    def reader(files: list[Path]) -> Callable[[], pd.DataFrame]:
        def read() -> pd.DataFrame:
            frame = read_series(files, spec)
            return cut_series(frame, spec.split, side, spec) if spec.split is not None else frame
        return read

    return TableSource(location=layout.location, readers={e: reader(f) for e, f in layout.files.items()},
                       multi=layout.multi, entities=spec.entities, exclude=spec.exclude, key=key,
                       label=spec.label.column if spec.label else None)


def _parties_source(spec: TableSpec, side: str) -> TableSource:
    """One side of a dataset declared with ``parties``: a reader per entity that every party has files of, reading
    and aligning the parties' files (``tsad.connectors.table.parties``)."""
    layouts = party_layouts(spec, side)
    complete, missing = party_entities(layouts)

    def reader(files: dict[str, list[Path]]) -> Callable[[], pd.DataFrame]:
        return lambda: read_parties(files, spec, side)

    return TableSource(location=" & ".join(layout.location for layout in layouts.values()),
                       readers={entity: reader(files) for entity, files in complete.items()}, missing=missing,
                       multi=next(iter(layouts.values())).multi, entities=spec.entities, exclude=spec.exclude,
                       key=spec.key("parties"), label=spec.label.column if spec.label else None)


def table_model_input(spec: TableSpec, paths: Sequence[str] | None = None) -> pd.DataFrame:
    """New data to score, as the rows a registered model of this dataset takes (``tsad.serving``).

    Args:
        spec: The dataset's source settings (how files are read; labels are ignored if present).
        paths: The file(s), folder or glob to score; default: the test files (the training files when the
            dataset is split in time, read whole). With ``parties``: one table of every party's channels, by default
            every party's test files, aligned.

    Returns:
        ``timestamp`` (or ``step``), ``entity`` for one-entity-per-file data, and the channels as float64.
    """
    if spec.parties and not paths:
        layouts = party_layouts(spec, "test")
        multi = next(iter(layouts.values())).multi
        frames = {entity: read_parties(files, spec, None, labelled=False)
                  for entity, files in party_entities(layouts)[0].items()}
    else:
        layout = list_files(tuple(paths) if paths else (spec.test or spec.train), spec, "new_data")
        multi = layout.multi
        frames = {entity: read_series(files, spec, labelled=False) for entity, files in layout.files.items()}
    frame = pd.concat(frames, names=[ENTITY]) if multi else frames[SINGLE]
    return rows_from_frame(frame, input_format(frame))
