"""The threshold study: each strategy's label-free F1 against the oracle's, and a choice checked on held-out data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import entity_frame, score_frame

from tsad.core import metrics
from tsad.core.threshold_study import label, oracle_shares, strategy_f1, study

STRATEGIES = [{"strategy": "quantile", "q": 0.99}, {"strategy": "k_sigma", "k": 3.0},
              {"strategy": "pot", "level": 0.99}]


def test_labels():
    assert label({"strategy": "quantile", "q": 0.995}) == "quantile(q=0.995)"
    assert label({"strategy": "pot"}) == "pot"


def test_each_strategy_is_fitted_on_validation_scores_only():
    val = score_frame(n=2000, seed=1, signal=0.0, labelled=False)
    test = score_frame(n=2000, seed=2, signal=4.0)
    table = strategy_f1(val, test, STRATEGIES)
    assert list(table.index) == ["series"]
    threshold = np.quantile(val["score"], 0.99)
    expected = metrics.precision_recall_f1(test["label"].to_numpy() > 0, test["score"].to_numpy() >= threshold)[2]
    assert table.loc["series", "f1@quantile(q=0.99)"] == pytest.approx(expected)
    assert table.loc["series", "oracle_f1"] >= table.filter(like="f1@").max(axis=1).iloc[0]
    # POT finds too few peaks in 200 validation scores: NaN there, the others go on
    short = strategy_f1(val.iloc[:200], test, STRATEGIES)
    assert np.isnan(short.loc["series", "f1@pot(level=0.99)"]) and np.isfinite(short.loc["series", "f1@k_sigma(k=3.0)"])


def test_entities_without_anomalies_are_left_out():
    val = entity_frame({"a": score_frame(n=800, seed=1, labelled=False),
                        "b": score_frame(n=800, seed=2, labelled=False)})
    quiet = score_frame(n=800, seed=4).assign(label=0)
    test = entity_frame({"a": score_frame(n=800, seed=3), "b": quiet})
    assert list(strategy_f1(val, test, STRATEGIES).index) == ["a"]


def test_the_study_picks_on_one_family_and_checks_on_the_others():
    rows = []
    for dataset, good in (("smd", "k_sigma"), ("msl", "k_sigma"), ("nab", "quantile(q=0.99)")):
        for method in ("pca", "knn"):
            for entity in ("e1", "e2"):
                rows.append({"dataset": dataset, "method": method, "seed": 0, "entity": entity, "oracle_f1": 0.8,
                             "f1@quantile(q=0.99)": 0.6 if good.startswith("quantile") else 0.2,
                             "f1@k_sigma": 0.4 if good == "k_sigma" else 0.1})
    entities = pd.DataFrame(rows)
    shares = oracle_shares(entities)
    assert shares.loc[("smd", "pca"), "k_sigma"] == pytest.approx(0.5)
    result = study(entities, ["smd"], current="quantile(q=0.99)")
    assert result["chosen"] == "k_sigma"
    assert result["held_out"] == {"msl": {"chosen": 0.5, "current": pytest.approx(0.25), "chosen_better": True},
                                  "nab": {"chosen": 0.125, "current": pytest.approx(0.75), "chosen_better": False}}
    with pytest.raises(ValueError, match="none of the selection datasets"):
        study(entities, ["wadi"], current="k_sigma")


def test_a_strategy_without_threshold_counts_as_zero_and_the_controls_never_choose():
    rows = [{"dataset": "smd", "method": "pca", "seed": 0, "entity": e, "oracle_f1": 0.5, "f1@pot": f, "f1@k": 0.2}
            for e, f in (("e1", 0.5), ("e2", np.nan))]
    rows += [{"dataset": "smd", "method": "random", "seed": 0, "entity": "e1", "oracle_f1": 0.1, "f1@pot": 0.0,
              "f1@k": 0.1}]
    entities = pd.DataFrame(rows)
    assert oracle_shares(entities).loc[("smd", "pca"), "pot"] == pytest.approx(0.5)  # not 1.0 from e1 alone
    # pot: 0.5 for pca; k: 0.4 for pca but 1.0 for the random method, which must not tip the choice
    assert study(entities, ["smd"], current="k")["chosen"] == "pot"
