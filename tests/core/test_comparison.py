"""Paired comparisons over entities: counts and the Wilcoxon signed-rank test on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsad.core.comparison import paired_statistics, paired_table


def test_counts_and_p_value_on_a_hand_made_table():
    method = np.array([0.50, 0.60, 0.55, 0.70, 0.40, 0.65, 0.52, 0.58])
    baseline = np.array([0.40, 0.50, 0.55, 0.60, 0.45, 0.50, 0.42, 0.48])
    result = paired_statistics(method, baseline)
    assert (result.wins, result.ties, result.losses) == (6, 1, 1)
    # Seven non-zero differences; the only loss (-.05) has the smallest rank, so W- = 1. Exact two-sided p over the
    # 2^7 equally likely sign patterns: 2 * P(W- <= 1) = 2 * 2 / 128 (W- = 0 and W- = 1 are one pattern each).
    assert result.p_value == pytest.approx(2 * 2 / 2**7)
    assert result.verdict(0.05) == "better" and result.median_difference == pytest.approx(0.1)
    assert paired_statistics(baseline, method).verdict(0.05) == "worse"


def test_ties_within_a_tolerance_and_all_ties():
    result = paired_statistics(np.array([0.5, 0.51, 0.3]), np.array([0.5, 0.5, 0.5]), tie=0.02)
    assert (result.wins, result.ties, result.losses) == (0, 2, 1)
    same = paired_statistics(np.ones(5), np.ones(5))
    assert same.p_value == 1.0 and same.verdict(0.05) == "no difference shown"
    with pytest.raises(ValueError, match="one length"):
        paired_statistics(np.ones(3), np.ones(4))


def test_every_method_against_the_best_baseline_of_its_dataset():
    rows = []
    for entity in range(6):
        for method, value in (("pca", 0.30 + 0.01 * entity), ("knn", 0.40 + 0.01 * entity),
                              ("tman", 0.50 + 0.02 * entity), ("random_control", 0.1)):
            rows.append({"dataset": "smd", "method": method, "seed": 0, "entity": f"m{entity}", "pr_auc": value})
    rows.append({"dataset": "swat", "method": "tman", "seed": 0, "entity": "series", "pr_auc": 0.2})  # no baseline
    table = paired_table(pd.DataFrame(rows), "pr_auc", ["pca", "knn", "iforest"])
    assert set(table.index.get_level_values("dataset")) == {"smd"}
    smd = table.loc["smd"]
    assert (smd["baseline"] == "knn").all() and smd.loc["knn", "verdict"] == "reference"
    assert smd.loc["tman", "wins"] == 6 and smd.loc["tman", "verdict"] == "better"
    assert smd.loc["pca", "losses"] == 6 and smd.loc["pca", "verdict"] == "worse"
    assert smd.loc["tman", "mean"] == pytest.approx(0.55)
