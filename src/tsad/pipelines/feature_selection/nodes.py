"""Feature-selection nodes: grey relational grades on training data, selection, and the grades plot."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tsad.core.frames import channel_columns, split_entities
from tsad.core.grey_relational import grey_relational_grades, minmax_normalise, select_by_grade


def grade_features(scaled_train: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
    """Grey relational grade of every channel against the reference, on training data only.

    Args:
        scaled_train: Scaled training frame.
        options: ``reference`` (a channel name, or null for the mean of the min-max normalised channels)
            and ``rho`` (distinguishing coefficient, default 0.5).

    Returns:
        A table with one row per channel: ``feature``, ``grade``, ``rank`` (1 = closest to the reference).
        Multi-entity data gets the mean of the entities' grades, so that every entity keeps the same channels.
    """
    channels = channel_columns(scaled_train)
    name = options.get("reference")
    if name is not None and name not in channels:
        raise ValueError(f"feature_selection.reference {name!r} is not a channel of the training data "
                         f"(it may have been dropped as constant); channels: {channels}")
    rho = float(options.get("rho", 0.5))
    per_entity = []
    for part in split_entities(scaled_train).values():
        values = part[channels].to_numpy(dtype=np.float64)
        reference = minmax_normalise(values).mean(axis=1) if name is None else values[:, channels.index(name)]
        per_entity.append(grey_relational_grades(values, reference, rho))
    grades = np.mean(per_entity, axis=0)
    ranks = np.empty(len(grades), dtype=np.int64)
    ranks[np.argsort(-grades, kind="stable")] = np.arange(1, len(grades) + 1)
    return pd.DataFrame({"feature": channels, "grade": grades, "rank": ranks})


def select_features(gra_grades: pd.DataFrame, options: dict[str, Any]) -> list[str]:
    """Channel names kept by ``top_k`` and/or ``min_grade`` (neither set: all channels), in column order."""
    kept = select_by_grade(gra_grades["grade"].to_numpy(), options.get("top_k"), options.get("min_grade"))
    return [str(f) for f in gra_grades["feature"].to_numpy()[kept]]


def plot_grades(gra_grades: pd.DataFrame, selected_features: list[str]) -> Figure:
    """Bar plot of the grades, highest first; selected channels in a darker colour."""
    table = gra_grades.sort_values("rank")
    figure = Figure(figsize=(max(6.0, 0.22 * len(table)), 3.6), layout="constrained")
    axes = figure.add_subplot()
    colours = np.where(table["feature"].isin(selected_features), "#1f5fa8", "#b8c7db")
    axes.bar(table["feature"], table["grade"], color=colours)
    axes.set_ylabel("grey relational grade")
    axes.set_ylim(0, 1)
    axes.set_title(f"Grey relational grades ({len(selected_features)} of {len(table)} channels selected)")
    axes.tick_params(axis="x", labelrotation=90, labelsize=7)
    return figure
