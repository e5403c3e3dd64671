"""Promotion rules and the model card, on hand-made figures."""

import numpy as np
import pytest

from tsad.review.model_card import model_card, non_default_parameters
from tsad.review.promotion import PromotionRules, candidate_metrics, judge, random_control_metrics, rules_from

CHALLENGER = {"roc_auc": 0.8, "pr_auc": 0.40, "f1": 0.3, "flagged_fraction_normal": 0.01}
CHAMPION = {"roc_auc": 0.7, "pr_auc": 0.35, "f1": 0.2, "flagged_fraction_normal": 0.01}
CONTROL = {"roc_auc": 0.5, "pr_auc": 0.12, "f1": 0.05}


def verdicts(challenger, champion, latency=10.0, **rules):
    return [c["passed"] for c in judge(challenger, champion, CONTROL, latency, PromotionRules(**rules))]


def test_a_better_challenger_within_budgets_passes_every_rule():
    assert verdicts(CHALLENGER, CHAMPION) == [True, True, True, True]
    assert verdicts(CHALLENGER, None) == [True, True, True]  # no champion yet: no comparison with it


@pytest.mark.parametrize(("change", "rules", "failing"), [
    ({"pr_auc": 0.10}, {}, [0, 1]),                       # below the random control, and below the champion
    ({"pr_auc": 0.37}, {"margin": 0.05}, [1]),             # better, but not by the margin
    ({"flagged_fraction_normal": 0.05}, {}, [2]),          # over the false-alarm budget
    ({}, {"metric": "roc_auc", "beat_random_by": 0.35}, [0]),
])
def test_each_rule_refuses_on_its_own(change, rules, failing):
    passed = verdicts(CHALLENGER | change, CHAMPION, **rules)
    assert [i for i, ok in enumerate(passed) if not ok] == failing


def test_the_latency_budget_and_unknown_rules():
    assert verdicts(CHALLENGER, CHAMPION, latency=2000.0) == [True, True, True, False]
    with pytest.raises(ValueError, match="metric"):
        PromotionRules(metric="accuracy")
    with pytest.raises(Exception, match="unknown|margn"):
        rules_from({"rules": {"margn": 0.1}})


def test_candidate_and_random_control_metrics():
    labels = np.array([0] * 90 + [1] * 10)
    scores = np.r_[np.zeros(90), np.ones(10)]
    flags = scores > 0.5
    flags[0] = True  # one false alarm among 90 normal rows
    got = candidate_metrics(labels, scores, flags)
    assert got["roc_auc"] == 1.0 and got["recall"] == 1.0
    assert got["flagged_fraction_normal"] == pytest.approx(1 / 90)
    control = random_control_metrics(labels, np.random.default_rng(0).random(len(labels)), 0.1)
    assert 0.2 < control["roc_auc"] < 0.8


def test_the_model_card_names_channels_threshold_and_metrics():
    facts = {"name": "pca_swat", "version": "3", "dataset": "swat", "method": "pca", "protocol": None,
             "run_id": "abc", "run_link": "#/experiments/1/runs/abc", "fingerprint": "f" * 64,
             "periods": {"train": ["2015-12-22 16:00:00", "2015-12-23 00:00:00"], "test": ["a", "b"]},
             "rows_train": 28800, "dropped_constant": ["P102", "AIT999"], "constant_evidence": ["P102"],
             "windowing": {"window": 12, "stride": 1},
             "channels": [("FIT101", 0.91), ("LIT101", 0.77)], "model_parameters": {"n_components": 10},
             "threshold": {"strategy": "quantile", "q": 0.995, "persistence": 1, "values": {"": 0.25}},
             "metrics": {"roc_auc": 0.73, "pr_auc": 0.34, "oracle_f1": 0.41, "flagged_fraction": 0.01},
             "random_control": {"roc_auc": 0.5, "pr_auc": 0.12}, "training_seconds": 12.0,
             "started": "2026-12-04T10:00:00+00:00", "hardware": "2 CPU cores", "git_commit": "abc123",
             "overrides": {"swat_simulator_preset": "tiny"}, "plots": ["score_timeline.png"],
             "limits": ["Trained on a simulator."]}
    card = model_card(facts)
    for expected in ("| FIT101 | 0.910 |", "`quantile`", "`0.25`", "| roc_auc | 0.7300 | 0.5000 |",
                     "oracle_f1 (threshold chosen on test labels", "`n_components` = `10`", "Trained on a simulator",
                     "2015-12-22 16:00:00 to 2015-12-23 00:00:00", "swat_simulator_preset", "score_timeline.png",
                     "Channels dropped as constant in training: P102, AIT999",
                     "kept as evidence (a row where one departs from its training value is flagged, whatever its "
                     "score): P102"):
        assert expected in card, expected


def test_non_default_parameters_are_the_changed_ones():
    assert non_default_parameters({"method": "pca", "n_components": 7, "seed": 0, "device": "auto"}) == \
        {"n_components": 7}
