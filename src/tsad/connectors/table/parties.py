"""A vertically federated dataset (``parties``): each party's own files of its own channels, read as any declared
dataset's files are (so every check and message of ``reading`` applies), cut by the split, and matched on their
timestamps (``tsad.connectors.alignment``), exactly or within ``alignment.tolerance``.

A row that some party lacks is dropped; the counts are noted per file set (the cleaning report keeps the notes) and
kept in the frame's ``attrs["alignment"]`` (the ingest node logs them to MLflow). A row is anomalous when any party
labelling it says so (a party's files may carry the declared label column or not).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from tsad.connectors.alignment import align_parties
from tsad.connectors.table.listing import Layout, list_files
from tsad.connectors.table.series import cut_series, read_series
from tsad.connectors.table.source_spec import SplitSpec, TableSpec
from tsad.core.errors import DataFormatError
from tsad.core.frames import LABEL, channel_columns

logger = logging.getLogger(__name__)


def party_layouts(spec: TableSpec, side: str) -> dict[str, Layout]:
    """Each party's files of one side (``train``, or ``test``: the training files when the data is split in time).

    Raises:
        DataFormatError: A party's missing files (``list_files``), or one party's single series beside another's
            entity folder, naming both.
    """
    layouts = {}
    for party in spec.parties:
        name = "test" if side == "test" and party.test is not None else "train"
        layouts[party.name] = list_files(getattr(party, name), spec, spec.key(f"parties.{party.name}.{name}"))
    (first, reference), *others = layouts.items()
    for party, layout in others:
        if layout.multi != reference.multi:
            raise DataFormatError(f"{layout.location} (party {party!r}) is {_shape(layout)}, but {reference.location} "
                                  f"(party {first!r}) is {_shape(reference)}; give every party files, or every "
                                  "party a folder (glob) of one file per entity")
    return layouts


def party_entities(layouts: Mapping[str, Layout]) -> tuple[dict[str, dict[str, list[Path]]], dict[str, str]]:
    """The entities every party has files of (``{entity: {party: files}}``), and why each other one is incomplete."""
    complete, missing = {}, {}
    for entity in dict.fromkeys(e for layout in layouts.values() for e in layout.files):
        lacking = [party for party, layout in layouts.items() if entity not in layout.files]
        if lacking:
            missing[entity] = f"party {lacking[0]!r} has no file of it under {layouts[lacking[0]].location}"
        else:
            complete[entity] = {party: layout.files[entity] for party, layout in layouts.items()}
    return complete, missing


def read_parties(files: Mapping[str, list[Path]], spec: TableSpec, side: str | None, *,
                 labelled: bool = True) -> pd.DataFrame:
    """One series (an entity's) from every party's files: read, cut to ``side`` by the split (None: whole), aligned.

    Returns:
        A typed frame of every party's channels (in party order) and the label when a party has one, with
        ``attrs``: ``source``, ``notes`` (the parties' and the alignment's), ``parties`` (each party's channels)
        and ``alignment`` (each party's dropped rows).

    Raises:
        DataFormatError: A file's own error, a channel in two parties' files, or no time common to the parties,
            naming the files and parties.
    """
    frames = {party: read_series(paths, spec, labelled=labelled) for party, paths in files.items()}
    _check_channels_unique(frames, spec)
    if side is not None and spec.split is not None:
        frames = _cut(frames, spec.split, side, spec)
    source = " & ".join(frame.attrs["source"] for frame in frames.values())
    notes = [note for frame in frames.values() for note in frame.attrs["notes"]]
    labels = [f"{LABEL} of {party}" for party, frame in frames.items() if LABEL in frame.columns]
    aligned, dropped = align_parties({party: frame.rename(columns={LABEL: f"{LABEL} of {party}"})
                                      for party, frame in frames.items()}, spec.tolerance)
    matching = f"within {spec.tolerance}" if spec.tolerance else "exactly"
    if aligned.empty:
        raise DataFormatError(f"{source}: no time of party {next(iter(frames))!r} matches {matching} a time of every "
                              f"other party; set {spec.key('alignment')}.tolerance if the parties' clocks differ")
    if labels:
        aligned[LABEL] = aligned[labels].max(axis=1).astype("int8")
        aligned = aligned.drop(columns=labels)
    note = (f"{source}: {side or 'new'} rows of the parties matched on their times {matching}: {len(aligned)} kept; "
            f"dropped as another party lacks them: {', '.join(f'{p} {n}' for p, n in dropped.items())}")
    logger.info("%s", note)
    aligned.attrs = {"source": source, "first_line": None, "notes": [*notes, note],
                     "parties": {party: channel_columns(frame) for party, frame in frames.items()},
                     "alignment": dropped}
    return aligned


def _shape(layout: Layout) -> str:
    return "a folder (glob) of one file per entity" if layout.multi else "one series"


def _check_channels_unique(frames: Mapping[str, pd.DataFrame], spec: TableSpec) -> None:
    owner: dict[str, str] = {}
    for party, frame in frames.items():
        for channel in channel_columns(frame):
            if channel in owner:
                other = owner[channel]
                raise DataFormatError(f"{frame.attrs['source']}: column {channel!r} of party {party!r} is also a "
                                      f"channel of party {other!r} ({frames[other].attrs['source']}); a channel "
                                      f"belongs to one party: rename it in one party's files, or leave it out with "
                                      f"{spec.key('exclude_channels')}")
            owner[channel] = party


def _cut(frames: dict[str, pd.DataFrame], split: SplitSpec, side: str, spec: TableSpec) -> dict[str, pd.DataFrame]:
    """Every party cut at the same time: ``at``, or the first test time of the first party's ``fraction`` cut."""
    if split.fraction is not None:
        split = SplitSpec(at=cut_series(next(iter(frames.values())), split, "test", spec).index[0])
    return {party: cut_series(frame, split, side, spec) for party, frame in frames.items()}
