"""Evaluation nodes: a threshold from validation scores, metrics on test labels, and the score timeline.

Multi-entity data gets a threshold and metrics per entity, and the mean over the entities that have
anomalies in their test data (the usual SMD / MSL / NAB protocol, ../shared/docs/targets.md).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tsad.core import metrics, thresholds
from tsad.core.frames import SINGLE, split_entities
from tsad.core.metrics import segments

logger = logging.getLogger(__name__)

_PLOT_POINTS = 4000  # the timeline is max-pooled to this many bins so that long series stay readable
_NOT_AVERAGED = ("threshold", "oracle_threshold")


def fit_threshold(scores_val: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """Fit the configured threshold strategy on validation scores (normal data, no labels used), per entity.

    Args:
        scores_val: Per-timestamp validation scores.
        options: ``strategy`` (quantile | k_sigma) and that strategy's options (``q``, ``k``).

    Returns:
        ``{"strategy", ...options, "values": {entity: threshold}}`` (entity ``""`` for a single series).
    """
    options = dict(options)
    strategy = options.pop("strategy", "quantile")
    values = {entity: thresholds.fit_threshold(part["score"].to_numpy(), strategy, **options)
              for entity, part in split_entities(scores_val).items()}
    return {"strategy": strategy, **options, "values": values}


def entity_metrics(scores: pd.DataFrame, threshold: float) -> dict[str, float]:
    """Metrics of one entity's labelled scores.

    At the fitted threshold: point-wise precision, recall, F1 and point-adjusted F1; threshold-free: ROC-AUC
    and PR-AUC; and the best F1 over all thresholds, chosen with the test labels and therefore named "oracle"
    (point-wise and point-adjusted).
    """
    labels, values = scores["label"].to_numpy(), scores["score"].to_numpy()
    out = metrics.threshold_metrics(labels, values, threshold)
    out |= {"roc_auc": metrics.roc_auc(labels, values), "pr_auc": metrics.pr_auc(labels, values),
            "threshold": float(threshold)}
    out |= {f"oracle_{k}": v for k, v in metrics.best_f1(labels, values).items()}
    out["oracle_pa_f1"] = metrics.best_f1(labels, metrics.point_adjusted_scores(labels, values))["f1"]
    return out


def evaluate_scores(scores_test: pd.DataFrame, threshold: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Metrics of the test scores, in MLflow's metric form (``{name: {"value", "step"}}``).

    A single series gives ``f1``, ``roc_auc`` ... Multi-entity data gives ``entity.<name>.<metric>`` per
    entity and, under the plain names, the mean over entities with anomalies in their test data, plus
    ``entities_evaluated``. Unlabelled data gives no metrics (one log line says so).
    """
    if "label" not in scores_test.columns:
        logger.info("The test data has no labels: label-based metrics are skipped")
        return {}
    parts = split_entities(scores_test)
    per_entity = {e: entity_metrics(part, threshold["values"][e]) for e, part in parts.items()
                  if part["label"].any() or e == SINGLE}
    if list(parts) == [SINGLE]:
        values = per_entity[SINGLE]
    else:
        skipped = sorted(set(parts) - set(per_entity))
        if skipped:
            logger.info("%d entities have no anomaly in their test data and are not evaluated: %s",
                        len(skipped), skipped)
        values = {f"entity.{e}.{k}": v for e, m in per_entity.items() for k, v in m.items()}
        names = [k for k in next(iter(per_entity.values()), {}) if k not in _NOT_AVERAGED]
        values |= {k: float(np.nanmean([m[k] for m in per_entity.values()])) for k in names}
        values["entities_evaluated"] = float(len(per_entity))
    return {name: {"value": float(value), "step": 0} for name, value in values.items()}


def plot_score_timeline(scores_test: pd.DataFrame, threshold: dict[str, Any]) -> Figure:
    """Test scores over time with labelled anomalies shaded and the threshold drawn.

    Multi-entity data is drawn entity after entity, each score divided by its entity's threshold (so the
    threshold is the line at 1), with the entity boundaries marked.
    """
    parts = split_entities(scores_test)
    single = list(parts) == [SINGLE]
    scores = np.concatenate([p["score"].to_numpy() / (1 if single else threshold["values"][e])
                             for e, p in parts.items()])
    labels = np.concatenate([p["label"].to_numpy() if "label" in p.columns else np.zeros(len(p), np.int8)
                             for p in parts.values()])
    line = threshold["values"][SINGLE] if single else 1.0
    bins = max(1, -(-len(scores) // _PLOT_POINTS))
    peak = np.pad(scores, (0, -len(scores) % bins), mode="edge").reshape(-1, bins).max(1)
    figure = Figure(figsize=(12, 3.6), layout="constrained")
    axes = figure.add_subplot()
    for start, end in zip(*segments(labels)):
        axes.axvspan(start, end, color="#f4a3a3", alpha=0.5, linewidth=0)
    if not single:
        for boundary in np.cumsum([len(p) for p in parts.values()])[:-1]:
            axes.axvline(boundary, color="#999999", linewidth=0.5)
    axes.plot(np.arange(len(peak)) * bins, peak, color="#1f3f6e", linewidth=0.7, label="score (max per bin)")
    axes.axhline(line, color="#c0392b", linestyle="--", linewidth=1, label=f"threshold ({threshold['strategy']})")
    axes.set_ylim(min(0.0, float(peak.min())), max(3 * line, float(np.quantile(peak, 0.999))) * 1.05)
    first, last = scores_test.index[0], scores_test.index[-1]
    axes.set_xlabel(f"test row (from {first} to {last})" if single else f"test row, {len(parts)} entities in turn")
    axes.set_ylabel("anomaly score" if single else "score / entity threshold")
    axes.legend(loc="upper right", fontsize=8)
    return figure
