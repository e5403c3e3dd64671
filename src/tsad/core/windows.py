"""Sliding windows as zero-copy views, window labels, and the map from window scores back to timestamps."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from tsad.core.frames import GAP, LABEL, channel_columns


def n_windows(n_timestamps: int, window: int, stride: int = 1) -> int:
    """Number of complete windows: ``(T - W) // S + 1``, or 0 when the series is shorter than a window."""
    _check_geometry(window, stride)
    return 0 if n_timestamps < window else (n_timestamps - window) // stride + 1


def sliding_windows(values: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """All complete windows of a (T, C) series as a read-only (N, W, C) view; nothing is copied.

    Args:
        values: Series of shape (T, C) (any memory layout).
        window: Window length W.
        stride: Step S between window starts.

    Returns:
        A view of shape ``(n_windows(T, W, S), W, C)`` whose window ``j`` covers rows ``[j*S, j*S + W)``.

    Raises:
        ValueError: The series is shorter than one window, or W or S is not positive.
    """
    if values.ndim != 2:
        raise ValueError(f"expected a (T, C) series, got shape {values.shape}")
    if n_windows(len(values), window, stride) == 0:
        raise ValueError(f"the series has {len(values)} rows, fewer than one window of {window}")
    view = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)  # (T-W+1, C, W)
    return view.transpose(0, 2, 1)[::stride]


def window_labels(labels: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Label of each window: 1 when any of its timestamps is anomalous (the usual window-level rule).

    Args:
        labels: Point labels of shape (T,), 0/1.
        window: Window length W.
        stride: Step S between window starts.

    Returns:
        int8 array of shape ``(n_windows(T, W, S),)``.
    """
    count = n_windows(len(labels), window, stride)
    ones = np.concatenate(([0], np.cumsum(np.asarray(labels) > 0, dtype=np.int64)))
    starts = np.arange(count, dtype=np.int64) * stride
    return (ones[starts + window] - ones[starts] > 0).astype(np.int8)


def to_timestamps(scores: np.ndarray, window: int, stride: int, n_timestamps: int,
                  aggregation: Literal["mean", "max"] = "mean") -> np.ndarray:
    """Map window scores back to one score per timestamp.

    Each timestamp takes the mean (or max) of the scores of every window that covers it. A timestamp no
    window covers (a gap when the stride exceeds the window, or the last ``(T - W) % S`` rows) takes the
    score of the last window starting at or before it, so every timestamp gets a finite score.

    Args:
        scores: Window scores of shape (N,), window ``j`` covering ``[j*S, j*S + W)``.
        window: Window length W.
        stride: Step S.
        n_timestamps: Length T of the series the windows came from.
        aggregation: ``"mean"`` or ``"max"`` over the covering windows.

    Returns:
        float64 array of shape (T,).
    """
    scores = np.asarray(scores, dtype=np.float64)
    count = n_windows(n_timestamps, window, stride)
    if scores.shape != (count,):
        raise ValueError(f"{len(scores)} scores given for {count} windows of {window} (stride {stride}) "
                         f"over {n_timestamps} timestamps")
    t = np.arange(n_timestamps)
    last_start = np.minimum(t // stride, count - 1)  # the last window starting at or before t
    if aggregation == "mean":
        # Difference arrays: each window adds its score on [start, start + W); starts (and ends) are distinct.
        starts = np.arange(count, dtype=np.int64) * stride
        total, hits = np.zeros(n_timestamps + 1), np.zeros(n_timestamps + 1)
        total[starts] += scores
        total[starts + window] -= scores
        hits[starts] += 1
        hits[starts + window] -= 1
        out = np.cumsum(total)[:n_timestamps] / np.maximum(np.cumsum(hits)[:n_timestamps], 1)
    elif aggregation == "max":
        out = np.full(n_timestamps, -np.inf)
        # Timestamp t is covered by windows j = t // S - k for k < ceil(W / S) with j*S + W > t.
        for k in range(-(-window // stride)):
            j = t // stride - k
            valid = (j >= 0) & (j < count) & (j * stride + window > t)
            np.maximum(out, np.where(valid, scores[np.clip(j, 0, count - 1)], -np.inf), out=out)
    else:
        raise ValueError(f"unknown aggregation {aggregation!r}; use 'mean' or 'max'")
    uncovered = t >= last_start * stride + window
    out[uncovered] = scores[last_start[uncovered]]
    return out


def _check_geometry(window: int, stride: int) -> None:
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")


@dataclasses.dataclass(frozen=True)
class WindowedSeries:
    """A series with its window geometry; the windows themselves are a view built on demand.

    A series may be made of contiguous stretches (rows were dropped between them, ``cleaning.nan_policy: drop``):
    windows then lie inside a stretch, each stretch's windows start at its first row, and scores map back stretch
    by stretch, so that no window and no score spans a gap.

    Attributes:
        values: Channels of shape (T, C), float32.
        index: The T timestamps (or steps) of the series.
        channels: Channel names, in column order.
        labels: Point labels (T,) as int8, or None for unlabelled data.
        window: Window length W.
        stride: Step S between window starts.
        breaks: Row positions where a new stretch starts (rows were dropped just before them); every stretch holds
            at least one window.
    """

    values: np.ndarray
    index: pd.Index
    channels: tuple[str, ...]
    labels: np.ndarray | None
    window: int
    stride: int
    breaks: tuple[int, ...] = ()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, window: int, stride: int = 1) -> WindowedSeries:
        """Take the channels of a typed frame (every column but ``label`` and ``gap_before``) and its labels.

        A ``gap_before`` column (``tsad.core.frames.GAP``) cuts the series into stretches; the rows of a stretch
        shorter than a window are left out (no window covers them, so they get no score).

        Raises:
            ValueError: No stretch holds a window.
        """
        if GAP in frame.columns:
            starts = np.flatnonzero(frame[GAP].to_numpy()[1:] > 0) + 1
            lengths = np.diff(np.concatenate(([0], starts, [len(frame)])))
            long = lengths >= window
            frame = frame.iloc[np.repeat(long, lengths)]
            breaks = tuple(int(b) for b in np.cumsum(lengths[long])[:-1])
            if not long.any():
                raise ValueError(f"{int(lengths.sum())} rows in {len(lengths)} stretches between dropped rows, none "
                                 f"of them as long as one window of {window}")
        else:
            breaks = ()
            if n_windows(len(frame), window, stride) == 0:
                raise ValueError(f"{len(frame)} rows are fewer than one window of {window}")
        channels = tuple(channel_columns(frame))
        labels = frame[LABEL].to_numpy(dtype=np.int8) if LABEL in frame.columns else None
        return cls(frame[list(channels)].to_numpy(dtype=np.float32), frame.index, channels, labels, window, stride,
                   breaks)

    @property
    def n_timestamps(self) -> int:
        return len(self.values)

    @property
    def stretch_bounds(self) -> np.ndarray:
        """Row positions ``[0, *breaks, T]``: stretch ``k`` is rows ``[bounds[k], bounds[k + 1])``."""
        return np.array([0, *self.breaks, self.n_timestamps], dtype=np.int64)

    @property
    def window_starts(self) -> np.ndarray:
        """The first row of every window, in order: every ``stride`` rows from the start of each stretch."""
        if not self.breaks:
            return np.arange(n_windows(self.n_timestamps, self.window, self.stride), dtype=np.int64) * self.stride
        bounds = self.stretch_bounds
        counts = (np.diff(bounds) - self.window) // self.stride + 1  # every stretch holds a window
        first = np.repeat(bounds[:-1], counts)
        rank = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return first + rank * self.stride

    @property
    def windows(self) -> np.ndarray:
        """The (N, W, C) read-only view of all windows (a copy when the series has stretches)."""
        if not self.breaks:
            return sliding_windows(self.values, self.window, self.stride)
        return sliding_windows(self.values, self.window, 1)[self.window_starts]

    @property
    def window_labels(self) -> np.ndarray | None:
        """Window labels (any anomalous point), or None for unlabelled data."""
        if self.labels is None:
            return None
        ones = np.concatenate(([0], np.cumsum(self.labels > 0, dtype=np.int64)))
        starts = self.window_starts
        return (ones[starts + self.window] - ones[starts] > 0).astype(np.int8)

    def map_stretches(self, scores: np.ndarray, mapper: Callable[[np.ndarray, int], np.ndarray]) -> np.ndarray:
        """Window scores (N, ...) to per-row scores (T, ...), stretch by stretch: ``mapper(scores of a stretch's
        windows, rows of the stretch)`` maps one stretch as if it were a whole series."""
        if not self.breaks:
            return mapper(scores, self.n_timestamps)
        lengths = np.diff(self.stretch_bounds)
        counts = (lengths - self.window) // self.stride + 1
        if len(scores) != counts.sum():
            raise ValueError(f"{len(scores)} scores given for {counts.sum()} windows of {self.window} (stride "
                             f"{self.stride}) in {len(lengths)} stretches")
        ends = np.cumsum(counts)
        return np.concatenate([mapper(scores[end - count:end], int(length))
                               for end, count, length in zip(ends, counts, lengths, strict=True)])

    def to_timestamps(self, scores: np.ndarray, aggregation: str = "mean") -> np.ndarray:
        """Scores of these windows mapped back to the T timestamps (see ``to_timestamps``), stretch by stretch."""
        return self.map_stretches(scores, lambda part, rows: to_timestamps(part, self.window, self.stride, rows,
                                                                           aggregation))
