"""The sensor graph a graph-learning detector uses (``Detector.graph_learned``: the graph flows), summarised over the
test windows for operators: its mean, and how it changes during the strongest test events.

Entry ``[k, j]`` of a window's graph is the weight of sensor ``k``'s message to sensor ``j``
(``Detector.window_graphs``). Per entity, the mean graph is the mean over every test window; an event's graph is
the mean over the test windows that cover its peak row (the events of the channel contribution heatmap:
``strongest_events``), shown as its change from the entity's mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import CenteredNorm
from matplotlib.figure import Figure

from tsad.core.evaluation import EvaluationOptions
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.models.base import Detector
from tsad.pipelines.reporting.nodes import strongest_events

MEAN = "mean"  # the graph column of the rows of the mean graph; an event's rows read "event <k>"
_BATCH = 1024  # windows per window_graphs call: (B, C, C) float64 stays small for a few hundred channels


def mean_window_graph(model: Detector, windows: np.ndarray) -> np.ndarray:
    """The mean (C, C) graph over ``windows`` (B, W, C), computed batch by batch."""
    total = np.zeros((windows.shape[2], windows.shape[2]), dtype=np.float64)
    for start in range(0, len(windows), _BATCH):
        total += model.window_graphs(windows[start:start + _BATCH]).sum(axis=0)
    return total / len(windows)


def covering_windows(series: WindowedSeries, position: int) -> np.ndarray:
    """Indices of the windows of ``series`` whose rows include row ``position``."""
    starts = series.window_starts
    return np.flatnonzero((starts <= position) & (position < starts + series.window))


def sensor_graph_table(detector: dict[str, Any], windows_test: dict[str, WindowedSeries], scores_test: pd.DataFrame,
                       threshold: dict[str, Any], evaluation: dict[str, Any]) -> pd.DataFrame:
    """The mean graph of each entity over its test windows and each top event's graph, as a long table.

    Args:
        detector: Checkpoint dict from ``fit_detector`` (a detector with ``graph_learned``).
        windows_test: The test windows per entity.
        scores_test: Per-timestamp test scores (the events are found on them).
        threshold: The fitted threshold record.
        evaluation: The evaluation options (``report.top_events`` and ``report.context``, as the channel
            contribution heatmap).

    Returns:
        One row per (entity, graph, source, target): ``entity`` ("" for one series), ``graph`` (``mean`` or
        ``event <k>``, k in time order), ``peak`` (the event's peak row, as text; null for the mean), ``windows``
        (how many windows were averaged), ``source`` and ``target`` (channel names: ``source``'s message to
        ``target``), ``weight`` (the mean weight) and ``change`` (an event's weight minus the entity's mean;
        null for the mean).
    """
    options = EvaluationOptions.from_params(evaluation).report
    events = strongest_events(scores_test, threshold, options.top_events, options.context)
    blocks = []
    for entity, series in windows_test.items():
        model = registry.from_state(detector["entities"][entity])
        windows = series.windows
        mean = mean_window_graph(model, windows)
        blocks.append(_long(entity, series.channels, mean, graph=MEAN, count=len(windows)))
        for k, (event_entity, position) in enumerate(events, start=1):
            if event_entity != entity:
                continue
            chosen = covering_windows(series, position)
            event_graph = model.window_graphs(np.ascontiguousarray(windows[chosen])).mean(axis=0)
            blocks.append(_long(entity, series.channels, event_graph, graph=f"event {k}", count=len(chosen),
                                peak=str(series.index[position]), change=event_graph - mean))
    return pd.concat(blocks, ignore_index=True)


def _long(entity: str, channels: tuple[str, ...], weight: np.ndarray, *, graph: str, count: int,
          peak: str | None = None, change: np.ndarray | None = None) -> pd.DataFrame:
    n = len(channels)
    names = np.asarray(channels, dtype=object)
    return pd.DataFrame({"entity": entity, "graph": graph, "peak": peak, "windows": np.int64(count),
                         "source": np.repeat(names, n), "target": np.tile(names, n),
                         "weight": weight.ravel(), "change": np.full(n * n, np.nan) if change is None
                         else change.ravel()})


def plot_sensor_graph(sensor_graph: pd.DataFrame) -> Figure:
    """Heatmaps of the learned sensor graph: per entity with a top event (or the first entity), its mean graph, then
    each event's change from it (diverging colours centred at 0), sources on the rows and targets on the columns."""
    shown = [e for e in pd.unique(sensor_graph["entity"]) if (sensor_graph.loc[sensor_graph["entity"] == e, "graph"]
                                                             != MEAN).any()] or [sensor_graph["entity"].iloc[0]]
    per_entity = {e: sensor_graph[sensor_graph["entity"] == e] for e in shown}
    columns = max(part["graph"].nunique() for part in per_entity.values())
    channels = list(pd.unique(sensor_graph["source"]))
    size = min(6.0, max(3.0, 0.09 * len(channels)))
    figure = Figure(figsize=(size * columns + 1.5, size * len(shown) + 0.6), layout="constrained")
    grid = figure.subplots(len(shown), columns, squeeze=False)
    font = max(3.0, min(7.0, 420 / max(len(channels), 1)))
    for row, (entity, part) in enumerate(per_entity.items()):
        for column, (graph, block) in enumerate(part.groupby("graph", sort=False)):
            axes = grid[row, column]
            values = "weight" if graph == MEAN else "change"
            matrix = block.pivot(index="source", columns="target", values=values).loc[channels, channels].to_numpy()
            if graph == MEAN:
                image = axes.imshow(matrix, cmap="viridis", interpolation="nearest")
                title = f"mean graph over {block['windows'].iloc[0]} test windows"
            else:
                image = axes.imshow(matrix, cmap="RdBu_r", norm=CenteredNorm(0.0), interpolation="nearest")
                title = f"{graph} at {block['peak'].iloc[0]}: change from the mean ({block['windows'].iloc[0]} windows)"
            axes.set_title((f"{entity}: " if entity else "") + title, fontsize=8)
            axes.set_xticks(range(len(channels)), channels, rotation=90, fontsize=font)
            axes.set_yticks(range(len(channels)), channels, fontsize=font)
            axes.set_xlabel("target sensor (receives)", fontsize=7)
            axes.set_ylabel("source sensor (sends)", fontsize=7)
            figure.colorbar(image, ax=axes, shrink=0.8, label="weight" if graph == MEAN else "change")
        for column in range(part["graph"].nunique(), columns):
            grid[row, column].set_axis_off()
    figure.suptitle("Learned sensor graph: entry [k, j] = weight of sensor k's message to sensor j", fontsize=10)
    return figure
