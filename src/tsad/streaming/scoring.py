"""Scoring rows as they arrive, with a registered model's bundle, so that every streamed flag is the batch flag.

Each entity keeps a ring buffer of its last raw rows (typed, before cleaning). When rows arrive, the buffer and
the new rows go through the registered model's own steps (``tsad.core.preprocessing.preprocess`` and
``tsad.pipelines.serving.nodes.score_features``), and the rows whose score and flag can no longer change are
emitted. A row's score is final once every window that covers it has arrived: ``W - 1`` rows later for the
``mean`` and ``max`` aggregations, at once for ``last`` (next-step predictors); ``band``'s single-flag pruning
waits one row more. The buffer keeps enough rows before the first unemitted one for its windows, the threshold's
``persistence`` and the pruning, aligned to the scoring stride and the downsampling blocks, so that the buffer
is cut into exactly the windows the batch run cuts from the whole file.

Strategies whose flags depend on the whole past or future of the series (``spot``'s moving threshold,
``dynamic``'s EWMA and sequence pruning) cannot be streamed row by row with the batch's flags, and are refused.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd

from tsad.core.frames import entity_label, join_entities, split_entities
from tsad.core.preprocessing import departures, preprocess
from tsad.core.score_frames import CHANNEL_PREFIX, DEPARTED_PREFIX, departed_channels
from tsad.pipelines.serving.nodes import score_features

logger = logging.getLogger(__name__)

UNSTREAMABLE = {"spot": "its threshold moves with every peak since the start of the series",
                "dynamic": "its EWMA smoothing and sequence pruning depend on the whole series"}


class StreamingError(ValueError):
    """A model or configuration that streaming scoring cannot serve (named with the reason)."""


@dataclasses.dataclass(frozen=True)
class Geometry:
    """How far a row's score and flag reach, in rows after downsampling (see the module docstring)."""

    window: int
    stride: int
    downsample: int
    lookahead: int  # rows after a row that must exist before its flag is final
    context: int  # rows before the first unemitted row the buffer keeps

    @classmethod
    def of(cls, bundle: dict[str, Any]) -> Geometry:
        """The geometry of a model bundle.

        Raises:
            StreamingError: A threshold strategy that cannot be streamed with the batch's flags.
        """
        pre, record, scoring = bundle["preprocessing"], bundle["threshold"], bundle["scoring"]
        strategy = record["strategy"]
        if strategy in UNSTREAMABLE:
            raise StreamingError(f"threshold strategy {strategy!r} cannot be streamed with the batch's flags: "
                                 f"{UNSTREAMABLE[strategy]}; register a model with another strategy (quantile, "
                                 "k_sigma, pot, distri_tail_noise_2th, band)")
        window = int(pre["windowing"]["window"])
        stride = scoring.get("stride") or pre["windowing"].get("stride", 1)
        stride = window if stride == "window" else int(stride)
        prune = int(bool(record.get("prune_single")))
        persistence = int(record.get("persistence", 1))
        lookahead = (0 if scoring.get("aggregation", "mean") == "last" else window - 1) + prune
        # Windows covering the earliest row a pending flag depends on (persistence, pruning), plus one stride.
        context = window + persistence + prune + stride
        return cls(window, stride, int(pre["cleaning"].get("downsample", 1)), lookahead, context)


@dataclasses.dataclass
class Scored:
    """Rows of one entity whose flags are final: their times, scores, flags and per-row evidence.

    ``evidence`` is (rows, channels): the detector's per-channel scores when it has them, else the preprocessed
    (scaled, selected) channel values; ``channels`` names its columns. ``departed`` is (rows, evidence channels):
    True where a channel kept as evidence departed from its training value; ``departed_channels`` names them.
    """

    entity: str
    times: pd.Index
    scores: np.ndarray
    flags: np.ndarray
    evidence: np.ndarray
    channels: list[str]
    channel_scored: bool
    departed: np.ndarray
    departed_channels: list[str]

    def __len__(self) -> int:
        return len(self.flags)


class EntityScorer:
    """One entity's buffer and the index of its first row not yet emitted (both after downsampling)."""

    def __init__(self, entity: str):
        self.entity = entity
        self.buffer: pd.DataFrame | None = None  # raw typed rows, from raw row ``start`` of the series on
        self.start = 0
        self.emitted = 0  # processed rows emitted so far

    @property
    def rows_seen(self) -> int:
        return self.start + (0 if self.buffer is None else len(self.buffer))

    def add(self, rows: pd.DataFrame) -> None:
        self.buffer = rows if self.buffer is None else pd.concat([self.buffer, rows])

    def score(self, bundle: dict[str, Any], geometry: Geometry, final: bool = False) -> Scored | None:
        """Emit the rows whose flags are final (with ``final``, every row: the series ends here, as a file does).

        Returns:
            The newly final rows, or None when none is.
        """
        if self.buffer is None:
            return None
        d = geometry.downsample
        processed = self.rows_seen // d  # complete downsampling blocks (a partial one is dropped, as in batch)
        last = processed - 1 if final else processed - 1 - geometry.lookahead
        first_buffered = self.start // d
        if last < self.emitted or processed - first_buffered < geometry.window:
            return None
        rows, name = join_entities({self.entity: self.buffer}), entity_label(self.entity, "stream")
        features = preprocess(rows, bundle["preprocessing"], name)
        scores = score_features(features, bundle, departures(rows, bundle["preprocessing"]["cleaning"], name))
        features, scores = split_entities(features)[self.entity], split_entities(scores)[self.entity]
        take = slice(self.emitted - first_buffered, last - first_buffered + 1)
        channel_columns = [c for c in scores.columns if c.startswith(CHANNEL_PREFIX)]
        if channel_columns:
            evidence, names = scores[channel_columns].to_numpy()[take], [c[len(CHANNEL_PREFIX):] for c in
                                                                          channel_columns]
        else:
            evidence, names = features.to_numpy(dtype=np.float64)[take], list(features.columns)
        departed = departed_channels(scores)
        out = Scored(self.entity, scores.index[take], scores["score"].to_numpy()[take],
                     scores["flag"].to_numpy()[take].astype(bool), evidence, names, bool(channel_columns),
                     scores[[f"{DEPARTED_PREFIX}{c}" for c in departed]].to_numpy()[take] > 0, departed)
        self.emitted = last + 1
        self._trim(geometry)
        return out

    def _trim(self, geometry: Geometry) -> None:
        """Drop buffered rows no pending row depends on, keeping the start aligned to the stride and the blocks."""
        keep_from = max(0, self.emitted - geometry.context)
        keep_from -= keep_from % geometry.stride  # windows start at multiples of the stride, as in the whole file
        raw_from = keep_from * geometry.downsample
        if raw_from > self.start:
            self.buffer = self.buffer.iloc[raw_from - self.start:]
            self.start = raw_from


class StreamScorer:
    """Per-entity scoring of arriving rows with one model bundle, which can be replaced between batches."""

    def __init__(self, bundle: dict[str, Any]):
        self.entities: dict[str, EntityScorer] = {}
        self.use(bundle)

    def use(self, bundle: dict[str, Any]) -> None:
        """Score with ``bundle`` from now on; the buffered rows stay and are scored by it.

        A model with other channels, another time column or another downsampling cannot read the buffered rows:
        they are dropped (and logged). One with a longer window scores its first rows from the rows buffered so far.
        """
        geometry = Geometry.of(bundle)
        old = getattr(self, "bundle", None)
        if old is not None and (_row_format(old), self.geometry.downsample) != (_row_format(bundle),
                                                                               geometry.downsample):
            logger.warning("the new model reads other rows (channels, time or downsampling): %d buffered row(s) "
                           "are dropped and its windows start afresh", sum(len(s.buffer) for s in
                                                                           self.entities.values()
                                                                           if s.buffer is not None))
            self.entities.clear()
        self.bundle, self.geometry = bundle, geometry
        for scorer in self.entities.values():  # re-align the kept rows to the new model's geometry
            scorer._trim(geometry)

    @property
    def input_format(self) -> dict[str, Any]:
        return self.bundle["preprocessing"]["input_format"]

    @property
    def known_entities(self) -> list[str]:
        return sorted(self.bundle["preprocessing"]["scaler"]["entities"])

    def last_time(self, entity: str) -> Any:
        scorer = self.entities.get(entity)
        return None if scorer is None or scorer.buffer is None or not len(scorer.buffer) else scorer.buffer.index[-1]

    def add(self, entity: str, rows: pd.DataFrame) -> Scored | None:
        """Append typed rows (strictly after the entity's last row) and emit what became final."""
        scorer = self.entities.setdefault(entity, EntityScorer(entity))
        scorer.add(rows)
        return scorer.score(self.bundle, self.geometry)

    def flush(self) -> list[Scored]:
        """Emit every remaining row, as a batch run does at the end of its file (a finite replay's end)."""
        out = []
        for scorer in self.entities.values():
            scored = scorer.score(self.bundle, self.geometry, final=True)
            if scored is not None:
                out.append(scored)
            elif scorer.rows_seen // self.geometry.downsample - scorer.emitted > 0:
                logger.warning("%s: its last %d row(s) are fewer than one window (%d) and are not scored, as batch "
                               "scoring refuses a series shorter than a window", entity_label(scorer.entity, "stream"),
                               scorer.rows_seen - scorer.start, self.geometry.window)
        return out

    def pending(self) -> int:
        """Rows received but not yet emitted (over all entities)."""
        d = self.geometry.downsample
        return sum(max(0, s.rows_seen // d - s.emitted) for s in self.entities.values())


def _row_format(bundle: dict[str, Any]) -> tuple:
    fmt = bundle["preprocessing"]["input_format"]
    return fmt["time_column"], fmt["time_kind"], fmt["entity_column"], tuple(fmt["channels"])
