"""Rows of several parties matched on their time index (the seed's AlignmentTimeSeries step).

In a vertically federated plant each party records its own sensors on its own clock; before training, the parties'
rows are matched on their timestamps, exactly or within a tolerance, and the rows some party lacks are dropped
(``tsad.connectors.table.parties`` reads each party's files and reports the counts).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def align_parties(frames: Mapping[str, pd.DataFrame], tolerance: str | pd.Timedelta | None = None
                  ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The parties' rows matched on their index, and the rows of each party that were dropped.

    Args:
        frames: Each party's frame (a unique timestamp or step index, its own columns), by party name.
        tolerance: None matches equal times; otherwise each row of the first party is matched to the nearest row
            of every other party within ``tolerance`` (``"500ms"``; timestamps only), each row used once.

    Returns:
        One frame of every party's columns on the first party's matched times (rows that some party lacks
        dropped), and the count of dropped rows per party.

    Raises:
        ValueError: No frame, an index that is not unique, or a tolerance without timestamps, naming the party.
    """
    if not frames:
        raise ValueError("align_parties needs at least one party's frame")
    names = list(frames)
    for name, frame in frames.items():
        if not frame.index.is_unique:
            raise ValueError(f"party {name!r}: align_parties needs a unique time index")
        if tolerance is not None and not isinstance(frame.index, pd.DatetimeIndex):
            raise ValueError(f"party {name!r}: a tolerance needs timestamps, not a {frame.index.name or 'step'} index")
    first = frames[names[0]].sort_index()
    keys = pd.DataFrame({names[0]: np.arange(len(first))}, index=first.index)
    for name in names[1:]:
        other = frames[name].sort_index()
        right = pd.DataFrame({name: np.arange(len(other))}, index=other.index)
        if tolerance is None:
            keys = keys.join(right, how="inner")
        else:
            keys = pd.merge_asof(keys, right, left_index=True, right_index=True, direction="nearest",
                                 tolerance=pd.Timedelta(tolerance)).dropna()
            keys = keys[~keys[name].duplicated()]  # a row of another party matches one row only
    keys = keys.astype(np.int64)
    aligned = pd.concat([frames[n].sort_index().iloc[keys[n].to_numpy()].set_axis(keys.index) for n in names], axis=1)
    return aligned, {name: len(frames[name]) - len(keys) for name in names}
