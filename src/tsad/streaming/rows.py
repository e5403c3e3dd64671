"""Rows off a stream to typed rows per entity, with every bad row logged, counted and kept out of the model.

The stream's policy for bad input (``bad_rows``), documented in the README:

- ``skip`` (default): a row with a missing channel, a value that is not a finite number, an unparseable time or an
  unknown entity is logged with what it held and skipped;
- ``hold``: a channel value that is missing or not a number is replaced by the entity's last good value of that
  channel (the batch cleaning's ``fill``), logged and counted; rows it cannot hold (no earlier value, bad time)
  are skipped.

Time order is the batch's: an entity's times must increase strictly. A row at or before the entity's last time
(reordered or duplicated) is logged and skipped, since the rows after it have been scored already. A gap in time
is scored as the batch scores one (windows run across it; the batch cleaning does not resample), and logged.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from tsad.core.frames import SINGLE, beyond_float32, entity_label
from tsad.serving import _parse_text_times

logger = logging.getLogger(__name__)

LOGGED_PER_REASON = 20  # bad rows logged one by one per reason; after that, every 1,000th


@dataclasses.dataclass
class RowBatch:
    """Rows as they came off a source: text or numbers, one column per field, and where they came from."""

    rows: pd.DataFrame
    origin: str  # a file and its first line, or an MQTT topic
    entity: str | None = None  # the entity a file stands for (None: from the rows' entity column)
    first_line: int | None = None  # file line of the first row, for messages


@dataclasses.dataclass
class RowCounts:
    """What the stream did with the rows it received."""

    received: int = 0
    accepted: int = 0
    held_values: int = 0
    gaps: int = 0
    bad: Counter = dataclasses.field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "accepted": self.accepted, "held_values": self.held_values,
                "gaps": self.gaps, "bad_rows": sum(self.bad.values()), "bad_by_reason": dict(self.bad)}


class RowReader:
    """Turns ``RowBatch``es into typed rows per entity for one model input format."""

    def __init__(self, input_format: dict[str, Any], known_entities: list[str], policy: str = "skip",
                 ignore_columns: list[str] | tuple[str, ...] = (), gap_factor: float = 5.0):
        if policy not in ("skip", "hold"):
            raise ValueError(f"stream.bad_rows must be 'skip' or 'hold', got {policy!r}")
        self.fmt, self.known = input_format, set(known_entities)
        self.policy, self.gap_factor = policy, gap_factor
        self.ignored = set(ignore_columns) | set(input_format["optional"])
        self.counts = RowCounts()
        self._held: dict[str, np.ndarray] = {}  # last good channel values per entity (hold policy)
        self._steps: dict[str, Any] = {}  # the usual time step per entity (for gap messages)
        self._warned_extra: set[tuple[str, ...]] = set()

    def read(self, batch: RowBatch, last_time: dict[str, Any]) -> dict[str, pd.DataFrame]:
        """Typed rows per entity (float32 channels, time index), bad rows removed.

        Args:
            batch: Rows off the source.
            last_time: Each entity's last accepted time (rows at or before it are out of order).
        """
        rows, fmt = batch.rows.reset_index(drop=True), self.fmt
        self.counts.received += len(rows)
        if not len(rows):
            return {}
        rows.columns = [str(c).strip() for c in rows.columns]
        bad = np.zeros(len(rows), dtype=bool)
        extra = tuple(sorted(set(rows.columns) - set(fmt["channels"]) - {fmt["time_column"], fmt["entity_column"]}
                             - self.ignored))
        if extra and extra not in self._warned_extra:
            self._warned_extra.add(extra)
            logger.warning("%s: ignoring column(s) %s, which the model does not take", batch.origin, list(extra))
        entities = self._entities(rows, batch, bad)
        times = self._times(rows, batch, bad)
        values = self._values(rows, batch, entities, bad)
        out = {}
        for entity in pd.unique(entities[~bad]):
            mine = (entities == entity) & ~bad
            index = np.flatnonzero(mine)
            keep = self._in_order(times[index], last_time.get(entity), batch, index)
            index = index[keep]
            if not len(index):
                continue
            part = pd.DataFrame(values[index], columns=fmt["channels"], index=times[index])
            self._note_gaps(entity, part.index, last_time.get(entity), batch)
            out[entity] = part
            self.counts.accepted += len(part)
        return out

    def _bad(self, batch: RowBatch, rows: np.ndarray, reason: str, detail: str) -> None:
        for row in np.atleast_1d(rows):
            self.counts.bad[reason] += 1
            count = self.counts.bad[reason]
            if count <= LOGGED_PER_REASON or count % 1000 == 0:
                where = f"line {batch.first_line + int(row)}" if batch.first_line is not None else f"row {int(row)}"
                logger.warning("%s, %s: %s (%s); skipped [%d so far]", batch.origin, where, reason, detail, count)

    def _entities(self, rows: pd.DataFrame, batch: RowBatch, bad: np.ndarray) -> np.ndarray:
        column = self.fmt["entity_column"]
        if column is None:
            return np.full(len(rows), SINGLE, dtype=object)
        if batch.entity is not None and column not in rows.columns:
            entities = np.full(len(rows), batch.entity, dtype=object)
        elif column not in rows.columns:
            self._bad(batch, np.flatnonzero(~bad), "no entity", f"the model needs column {column!r}")
            bad[:] = True
            return np.full(len(rows), SINGLE, dtype=object)
        else:
            entities = rows[column].astype(str).str.strip().to_numpy(dtype=object)
        unknown = ~np.isin(entities, list(self.known)) & ~bad
        for row in np.flatnonzero(unknown):
            self._bad(batch, row, "unknown entity", f"{entities[row]!r}; the model knows {sorted(self.known)}")
        bad |= unknown
        return entities

    def _times(self, rows: pd.DataFrame, batch: RowBatch, bad: np.ndarray) -> pd.Index:
        fmt, column = self.fmt, self.fmt["time_column"]
        if column not in rows.columns:
            self._bad(batch, np.flatnonzero(~bad), "no time", f"the model needs column {column!r}")
            bad[:] = True
            return pd.Index(np.zeros(len(rows), dtype=np.int64))
        if fmt["time_kind"] == "step":
            steps = pd.to_numeric(rows[column], errors="coerce")
            unparsed = steps.isna().to_numpy() | (steps.fillna(0) % 1 != 0).to_numpy()
            times = pd.Index(steps.fillna(-1).to_numpy(dtype=np.int64), name="step")
        else:
            stamps = _parse_text_times(rows[column], fmt["time_format"])
            times = pd.DatetimeIndex(stamps, name="timestamp")
            unparsed = np.asarray(times.isna())
        for row in np.flatnonzero(unparsed & ~bad):
            self._bad(batch, row, "bad time", f"{column}={rows[column].iloc[row]!r}")
        bad |= unparsed
        return times

    def _values(self, rows: pd.DataFrame, batch: RowBatch, entities: np.ndarray, bad: np.ndarray) -> np.ndarray:
        channels = self.fmt["channels"]
        present = [c for c in channels if c in rows.columns]
        frame = rows[present]
        if all(pd.api.types.is_numeric_dtype(dtype) for dtype in frame.dtypes):
            numbers = frame.to_numpy(dtype=np.float64)
        else:  # text cells (or mixed): converted as one column, blanks around and decimal commas allowed
            cells = pd.Series(frame.to_numpy(dtype=object).ravel()).astype(str).str.strip()
            cells = cells.str.replace(",", ".", regex=False)
            numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64).reshape(frame.shape)
        values = np.full((len(rows), len(channels)), np.nan, dtype=np.float64)
        values[:, [channels.index(c) for c in present]] = numbers
        finite = np.isfinite(values) & ~beyond_float32(values)
        values[~finite] = np.nan
        if self.policy == "hold":
            self._hold(values, entities, bad)
        for row in np.flatnonzero(np.isnan(values).any(axis=1) & ~bad):
            j = int(np.flatnonzero(np.isnan(values[row]))[0])
            channel = channels[j]
            held = rows[channel].iloc[row] if channel in rows.columns else "missing"
            self._bad(batch, row, "bad value", f"channel {channel!r} = {held!r}")
            bad[row] = True
        return values.astype(np.float32)

    def _hold(self, values: np.ndarray, entities: np.ndarray, bad: np.ndarray) -> None:
        """Fill bad channel values (NaN in ``values``) with the entity's last good value, in place."""
        for entity in pd.unique(entities[~bad]):
            index = np.flatnonzero((entities == entity) & ~bad)
            block = pd.DataFrame(values[index])
            previous = self._held.get(entity)
            if previous is not None:
                block = pd.concat([pd.DataFrame([previous]), block], ignore_index=True)
            filled = block.ffill().to_numpy()[-len(index):]
            held = int((np.isnan(values[index]) & ~np.isnan(filled)).sum())
            if held:
                self.counts.held_values += held
                logger.warning("%s: held %d bad channel value(s) at their last good value (bad_rows: hold)",
                               entity_label(entity, "stream"), held)
            values[index] = filled
            complete = index[~np.isnan(filled).any(axis=1)]
            if len(complete):
                self._held[entity] = values[complete[-1]].copy()

    def _in_order(self, times: pd.Index, last: Any, batch: RowBatch, rows: np.ndarray) -> np.ndarray:
        """Rows whose time is after every earlier row's of the entity (the others are logged and skipped)."""
        values = np.asarray(times)
        # The latest time before each row (a skipped row is never above it, so it is the kept rows' latest too);
        # without a last time the first row has none and stands against itself.
        first = values[:1] if last is None else np.asarray([last], dtype=values.dtype)
        latest = np.maximum.accumulate(np.concatenate([first, values]))[:-1]
        keep = values > latest
        if last is None:
            keep[:1] = True
        for i in np.flatnonzero(~keep):
            self._bad(batch, rows[i], "out of order", f"time {times[i]} is not after {pd.Index(latest)[i]}")
        return keep

    def _note_gaps(self, entity: str, index: pd.Index, last: Any, batch: RowBatch) -> None:
        times = np.asarray(index if last is None else pd.Index([last]).astype(index.dtype).append(index))
        if len(times) < 2:
            return
        steps = np.diff(times)
        usual = self._steps.get(entity)
        if usual is None:
            usual = self._steps[entity] = np.median(steps)
        for k in np.flatnonzero(steps > self.gap_factor * usual):
            self.counts.gaps += 1
            logger.warning("%s: %s has a gap of %s after %s; windows run across it, as in batch scoring",
                           batch.origin, entity_label(entity, "the series"), pd.Timedelta(steps[k]) if
                           np.issubdtype(steps.dtype, np.timedelta64) else steps[k], pd.Index(times)[k])
