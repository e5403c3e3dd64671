"""Label-free thresholds against the oracle: each strategy fitted on a run's validation scores (no labels), its
test F1 per entity, beside the oracle F1 (the best F1 over all thresholds, picked with the test labels).

The benchmark grid computes these for every run from the scores it already has, so one grid answers both "which
method" and "which threshold strategy"; ``study`` then picks a strategy on one family of datasets and checks it
on the others, so that the choice is not tuned to the data it is judged on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tsad.core import metrics, thresholds
from tsad.core.frames import SINGLE, split_entities

logger = logging.getLogger(__name__)


def label(strategy: Mapping[str, Any]) -> str:
    """A strategy's column name: ``quantile(q=0.995)``, ``pot``."""
    options = {k: v for k, v in strategy.items() if k != "strategy"}
    inner = ",".join(f"{k}={v}" for k, v in sorted(options.items()))
    return f"{strategy['strategy']}({inner})" if inner else str(strategy["strategy"])


def strategy_f1(scores_val: pd.DataFrame, scores_test: pd.DataFrame, strategies: Sequence[Mapping[str, Any]]
                ) -> pd.DataFrame:
    """Test F1 of every strategy fitted on the validation scores, and the oracle F1, per labelled entity.

    A strategy that finds no threshold on an entity (POT with too few peaks, DistriTailNoise2Th on a flat histogram)
    gets NaN there.

    Returns:
        One row per entity with test anomalies (``series`` for a single series): ``f1@<label>`` per strategy and
        ``oracle_f1``.
    """
    val = split_entities(scores_val)
    rows = {}
    for entity, test in split_entities(scores_test).items():
        labels = test["label"].to_numpy() > 0 if "label" in test.columns else None
        if labels is None or (not labels.any() and entity != SINGLE):
            continue
        values = test["score"].to_numpy(dtype=np.float64)
        row = {"oracle_f1": metrics.best_f1(labels, values)["f1"]}
        fitting = val[entity]["score"].to_numpy(dtype=np.float64)
        for strategy in strategies:
            options = {k: v for k, v in strategy.items() if k != "strategy"}
            try:
                fitted = thresholds.fit(fitting, strategy["strategy"], **options)
            except ValueError as error:  # ThresholdError included: no threshold on these scores
                logger.info("%s finds no threshold for entity %r: %s", label(strategy), entity, error)
                row[f"f1@{label(strategy)}"] = np.nan
                continue
            flags = thresholds.apply(values, fitted).flags
            row[f"f1@{label(strategy)}"] = metrics.precision_recall_f1(labels, flags)[2]
        rows["series" if entity == SINGLE else entity] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("entity")


CONTROLS = ("random", "random_control")  # chance, not detectors: never in the study's choice


def oracle_shares(entities: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, method, strategy): the mean label-free F1 over units as a share of the mean oracle F1.

    A strategy that finds no threshold on a unit counts as F1 0 there: it could not be deployed on it (leaving the
    unit out would let a strategy that fails where it is hard look better than the oracle).
    """
    columns = [c for c in entities.columns if c.startswith("f1@")]
    entities = entities.dropna(subset=["oracle_f1"]).assign(**{c: entities[c].fillna(0.0) for c in columns})
    grouped = entities.groupby(["dataset", "method"], sort=False)
    f1, oracle = grouped[columns].mean(), grouped["oracle_f1"].mean()
    return f1.div(oracle.replace(0.0, np.nan), axis=0).rename(columns=lambda c: c[len("f1@"):])


def study(entities: pd.DataFrame, select_on: Sequence[str], current: str) -> dict[str, Any]:
    """Pick the strategy with the highest share of the oracle F1 on the ``select_on`` datasets, then compare it with
    the ``current`` default on each other dataset.

    Shares are averaged over the methods of a dataset (the random controls left out: a rule that flags everything
    reaches the oracle F1 of noise), then over the selection datasets.

    Returns:
        ``shares`` (dataset x strategy: mean over methods), ``chosen``, ``current``, and ``held_out``: per other
        dataset the chosen and current strategy's shares and whether the chosen one is better there.
    """
    detectors = entities[~entities["method"].isin(CONTROLS)]
    by_dataset = oracle_shares(detectors).groupby(level="dataset", sort=False).mean()
    selection = by_dataset.loc[[d for d in select_on if d in by_dataset.index]]
    if selection.empty:
        raise ValueError(f"none of the selection datasets {list(select_on)} is in the grid "
                         f"({list(by_dataset.index)})")
    chosen = str(selection.mean(axis=0).idxmax())
    held_out = {dataset: {"chosen": float(row[chosen]), "current": float(row[current]),
                          "chosen_better": bool(row[chosen] > row[current])}
                for dataset, row in by_dataset.drop(index=selection.index).iterrows()}
    return {"shares": by_dataset, "chosen": chosen, "current": current, "held_out": held_out}
