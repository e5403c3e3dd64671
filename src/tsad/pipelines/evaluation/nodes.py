"""Evaluation nodes: a threshold from validation scores, metrics on test labels, and the score timeline."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tsad.core import metrics, thresholds
from tsad.core.metrics import segments

logger = logging.getLogger(__name__)

_PLOT_POINTS = 4000  # the timeline is max-pooled to this many bins so that long series stay readable


def fit_threshold(scores_val: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """Fit the configured threshold strategy on validation scores (normal data, no labels used).

    Args:
        scores_val: Per-timestamp validation scores.
        options: ``strategy`` (quantile | k_sigma) and that strategy's options (``q``, ``k``).

    Returns:
        ``{"strategy", "value", ...options}``.
    """
    options = dict(options)
    strategy = options.pop("strategy", "quantile")
    value = thresholds.fit_threshold(scores_val["score"].to_numpy(), strategy, **options)
    return {"strategy": strategy, "value": value, **options}


def evaluate_scores(scores_test: pd.DataFrame, threshold: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Metrics of the test scores, in MLflow's metric form (``{name: {"value", "step"}}``).

    Reports at the fitted threshold: point-wise precision, recall, F1 and point-adjusted F1; threshold-free:
    ROC-AUC and PR-AUC; and the best F1 over all thresholds, chosen with the test labels and therefore
    reported under the name "oracle" (point-wise and point-adjusted). Unlabelled data gives no metrics.
    """
    if "label" not in scores_test.columns:
        logger.info("The test data has no labels: label-based metrics are skipped")
        return {}
    labels, scores = scores_test["label"].to_numpy(), scores_test["score"].to_numpy()
    values = metrics.threshold_metrics(labels, scores, threshold["value"])
    values |= {"roc_auc": metrics.roc_auc(labels, scores), "pr_auc": metrics.pr_auc(labels, scores),
               "threshold": float(threshold["value"])}
    values |= {f"oracle_{k}": v for k, v in metrics.best_f1(labels, scores).items()}
    values["oracle_pa_f1"] = metrics.best_f1(labels, metrics.point_adjusted_scores(labels, scores))["f1"]
    return {name: {"value": float(value), "step": 0} for name, value in values.items()}


def plot_score_timeline(scores_test: pd.DataFrame, threshold: dict[str, Any]) -> Figure:
    """Test scores over time with labelled anomalies shaded and the threshold drawn."""
    scores = scores_test["score"].to_numpy()
    labels = scores_test["label"].to_numpy() if "label" in scores_test.columns else np.zeros(len(scores))
    bins = max(1, -(-len(scores) // _PLOT_POINTS))
    peak = np.pad(scores, (0, -len(scores) % bins), mode="edge").reshape(-1, bins).max(1)
    position = np.arange(len(peak)) * bins
    figure = Figure(figsize=(12, 3.6), layout="constrained")
    axes = figure.add_subplot()
    for start, end in zip(*segments(labels)):
        axes.axvspan(start, end, color="#f4a3a3", alpha=0.5, linewidth=0)
    axes.plot(position, peak, color="#1f3f6e", linewidth=0.7, label="score (max per bin)")
    axes.axhline(threshold["value"], color="#c0392b", linestyle="--", linewidth=1,
                 label=f"threshold ({threshold['strategy']})")
    axes.set_ylim(min(0.0, float(peak.min())), max(3 * threshold["value"], float(np.quantile(peak, 0.999))) * 1.05)
    axes.set_xlabel(f"test row (from {scores_test.index[0]} to {scores_test.index[-1]})")
    axes.set_ylabel("anomaly score")
    axes.legend(loc="upper right", fontsize=8)
    return figure
