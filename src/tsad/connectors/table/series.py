"""A series from its pieces (one file or several, in time order), its cut in time into training and test parts, and
the check that two files hold the same channels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tsad.connectors.table.reading import line_or_row, read_cells
from tsad.connectors.table.source_spec import SplitSpec, TableSpec
from tsad.connectors.table.typed import type_cells
from tsad.core.errors import DataFormatError
from tsad.core.frames import LABEL, channel_columns


def read_series(files: Sequence[Path], spec: TableSpec, *, labelled: bool = True) -> pd.DataFrame:
    """A series from one file or several pieces in time order, typed (flat index).

    Raises:
        DataFormatError: Any file's error; pieces that overlap in time or differ in channels or labels.
    """
    parts = [type_cells(read_cells(path, spec), spec, labelled=labelled) for path in files]
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    for previous, part in zip(parts, parts[1:], strict=False):
        check_same_channels(first, part)
        if (LABEL in first.columns) != (LABEL in part.columns):
            raise DataFormatError(f"{part.attrs['source']}: {'no' if LABEL in first.columns else 'a'} label column, "
                                  f"unlike {first.attrs['source']}; pieces of one series must agree")
        if spec.time.column is None:  # row numbers continue from one piece to the next
            part.index = pd.Index(part.index.to_numpy() + previous.index[-1] + 1, name="step")
        elif part.index[0] <= previous.index[-1]:
            raise DataFormatError(f"{part.attrs['source']}: {line_or_row(part.attrs['first_line'], 0)}: time "
                                  f"{part.index[0]} is not after {previous.index[-1]}, the last time of "
                                  f"{previous.attrs['source']}; list the pieces in time order")
    frame = pd.concat([p[list(first.columns)] for p in parts])
    frame.attrs = {"source": " + ".join(p.attrs["source"] for p in parts), "first_line": first.attrs["first_line"],
                   "notes": [note for p in parts for note in p.attrs["notes"]]}
    return frame


def cut_series(frame: pd.DataFrame, split: SplitSpec, side: str, spec: TableSpec) -> pd.DataFrame:
    """The training (leading) or test part of a series cut by ``split``.

    Raises:
        DataFormatError: A part would be empty, or ``at`` is not a time (steps: an integer), naming the file.
    """
    source = frame.attrs.get("source", spec.dataset)
    if split.fraction is not None:
        cut = int(np.floor(split.fraction * len(frame)))
        what = f"fraction {split.fraction}"
    else:
        try:
            at = pd.Timestamp(split.at) if isinstance(frame.index, pd.DatetimeIndex) else int(split.at)
        except (ValueError, TypeError) as error:
            raise DataFormatError(f"{spec.key('split')}.at: {split.at!r} is not a "
                                  f"{'time' if isinstance(frame.index, pd.DatetimeIndex) else 'whole-number step'} "
                                  f"(the time index of {source})") from error
        cut = int(frame.index.searchsorted(at))
        what = f"at {split.at}"
    if cut == 0 or cut == len(frame):
        raise DataFormatError(f"{source}: {len(frame)} rows from {frame.index[0]} to {frame.index[-1]}; the split "
                              f"{what} leaves no {'training' if cut == 0 else 'test'} rows ({spec.key('split')})")
    part = frame.iloc[:cut] if side == "train" else frame.iloc[cut:]
    first_line = frame.attrs.get("first_line")
    part.attrs = {**frame.attrs, "first_line": None if first_line is None or side == "train" else first_line + cut}
    return part


def check_same_channels(reference: pd.DataFrame, part: pd.DataFrame) -> pd.DataFrame:
    """``part`` with ``reference``'s channels in its order; a missing or extra channel is an error."""
    expected, found = channel_columns(reference), channel_columns(part)
    if found == expected:
        return part
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing or extra:
        ref_source, source = reference.attrs.get("source"), part.attrs.get("source")
        if extra:
            column = extra[0]
            example = f"{line_or_row(part.attrs.get('first_line'), 0)} of {source} has " \
                      f"{column}={part[column].iloc[0]!r}"
        else:
            column = missing[0]
            example = f"{line_or_row(reference.attrs.get('first_line'), 0)} of {ref_source} has " \
                      f"{column}={reference[column].iloc[0]!r}"
        raise DataFormatError(f"{source}: channels differ from {ref_source}: column {column!r} is "
                              f"{'not in' if extra else 'missing from'} {source if missing else ref_source} "
                              f"({example}); missing {missing}, extra {extra}. Every file needs the same channels "
                              "(select them with channels / exclude_channels)")
    out = part[expected + ([LABEL] if LABEL in part.columns else [])]
    out.attrs = dict(part.attrs)
    return out
