"""Paired comparisons of detectors over entities: wins, ties and losses, and a Wilcoxon signed-rank test.

Differences between methods in this field are often within the spread over entities
(../shared/docs/targets.md), so a leaderboard calls a method better than a baseline only when a paired test on
the same entities (and seeds) says so. Each pair is one (entity, seed): the method and the baseline scored on the
same test data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

UNIT = ["entity", "seed"]  # what a pair is


@dataclasses.dataclass(frozen=True)
class Paired:
    """A method against a baseline on the same units: counts of wins, ties and losses, and the test."""

    wins: int
    ties: int
    losses: int
    p_value: float  # two-sided Wilcoxon signed-rank; 1.0 when every difference is a tie
    median_difference: float

    def verdict(self, alpha: float) -> str:
        if self.p_value < alpha and self.median_difference > 0:
            return "better"
        if self.p_value < alpha and self.median_difference < 0:
            return "worse"
        return "no difference shown"


def paired_statistics(method: np.ndarray, baseline: np.ndarray, tie: float = 0.0) -> Paired:
    """Compare paired values (higher is better).

    Args:
        method: The method's value per unit.
        baseline: The baseline's value on the same units, in the same order.
        tie: Differences within ``tie`` of zero count as ties; the test drops exact zeros (Wilcoxon's own rule).

    Raises:
        ValueError: The arrays differ in length, are empty or hold a non-finite value.
    """
    method, baseline = np.asarray(method, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if method.shape != baseline.shape or method.ndim != 1 or not len(method):
        raise ValueError(f"paired values must be two 1-D arrays of one length, got {method.shape} and "
                         f"{baseline.shape}")
    if not (np.isfinite(method).all() and np.isfinite(baseline).all()):
        raise ValueError("paired values must be finite")
    difference = method - baseline
    wins, losses = int((difference > tie).sum()), int((difference < -tie).sum())
    if not np.any(difference != 0):
        p_value = 1.0
    else:
        p_value = float(stats.wilcoxon(difference, zero_method="wilcox", alternative="two-sided").pvalue)
    return Paired(wins, len(difference) - wins - losses, losses, p_value, float(np.median(difference)))


def paired_table(entities: pd.DataFrame, metric: str, baselines: Sequence[str], *, tie: float = 0.0,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Every method of every dataset against that dataset's best simple baseline, by ``metric``.

    Args:
        entities: One row per (dataset, method, seed, entity) with a ``metric`` column.
        metric: Higher-is-better metric compared (``pr_auc`` ...).
        baselines: The simple baselines; the best of them on a dataset (highest mean ``metric`` over its units)
            is the reference there.
        tie: Differences within ``tie`` count as ties.
        alpha: Level of the test for the verdict.

    Returns:
        Per (dataset, method): ``baseline`` (the reference), ``mean`` and ``spread`` (sample standard deviation) of
        the method's ``metric`` over its units, ``units`` (pairs), ``wins``, ``ties``, ``losses``,
        ``p_value``, ``median_difference`` and ``verdict`` (``better`` / ``worse`` / ``no difference shown``;
        ``reference`` for the baseline itself). Datasets without any baseline are left out.
    """
    rows = []
    for dataset, part in entities.dropna(subset=[metric]).groupby("dataset", sort=False):
        means = part.groupby("method")[metric].mean()
        present = [b for b in baselines if b in means.index]
        if not present:
            continue
        reference = max(present, key=lambda b: means[b])
        wide = part.pivot_table(index=UNIT, columns="method", values=metric, aggfunc="mean")
        for method in wide.columns:
            values = wide[method].dropna()
            row = {"dataset": dataset, "method": method, "baseline": reference, "mean": float(values.mean()),
                   "spread": float(values.std(ddof=1)) if len(values) > 1 else float("nan")}
            if method == reference:
                rows.append(row | {"units": int(wide[method].notna().sum()), "verdict": "reference"})
                continue
            both = wide[[method, reference]].dropna()
            if both.empty:
                continue
            result = paired_statistics(both[method].to_numpy(), both[reference].to_numpy(), tie)
            rows.append(row | {"units": len(both)} | dataclasses.asdict(result) | {"verdict": result.verdict(alpha)})
    return pd.DataFrame(rows).set_index(["dataset", "method"]) if rows else pd.DataFrame()
