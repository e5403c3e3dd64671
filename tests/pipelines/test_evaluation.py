"""The evaluation stage's nodes on synthetic score frames: thresholds, metrics and the random control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import EVALUATION, entity_frame, evaluation_params, score_frame

from tsad.core import metrics, thresholds
from tsad.models.random_control import RandomDetector
from tsad.pipelines.evaluation import nodes


def test_threshold_record_and_metrics_of_a_single_series():
    val, test = score_frame(labelled=False, signal=0, seed=1), score_frame(seed=2)
    record = nodes.fit_threshold(val, {"strategy": "pot", "q": 1e-3, "level": 0.95, "persistence": 2})
    assert record["strategy"] == "pot" and record["persistence"] == 2 and set(record["values"]) == {""}
    mlflow_form, table = nodes.evaluate(test, record, EVALUATION)
    assert list(table.index) == ["series"]
    values = {k: v["value"] for k, v in mlflow_form.items()}
    assert {"f1", "pa_f1", "pa_k_auc", "event_f1", "composite_f1", "range_f1", "affiliation_f1", "roc_auc",
            "pr_auc", "vus_roc", "vus_pr", "oracle_f1", "oracle_pa_f1", "threshold"} <= set(values)
    # The flags are the persistent exceedances of the fitted threshold.
    flags = thresholds.persistent(test["score"].to_numpy() >= record["values"][""], 2)
    assert values["f1"] == pytest.approx(metrics.precision_recall_f1(test["label"], flags)[2])
    assert values["flagged_fraction"] == pytest.approx(flags.mean())
    # The oracle searches the same flag rule: thresholds on the 2-point running minimum.
    best = metrics.best_f1(test["label"], thresholds.persistent_scores(test["score"].to_numpy(), 2))
    assert values["oracle_f1"] == pytest.approx(best["f1"]) and values["oracle_f1"] >= values["f1"]


def test_multi_entity_means_skip_entities_without_anomalies():
    quiet = score_frame(seed=5).assign(label=np.int8(0))
    val = entity_frame({"a": score_frame(labelled=False, signal=0, seed=3),
                        "b": score_frame(labelled=False, signal=0, seed=4)})
    test = entity_frame({"a": score_frame(seed=6), "b": quiet})
    record = nodes.fit_threshold(val, {"strategy": "quantile", "q": 0.99})
    mlflow_form, table = nodes.evaluate(test, record, evaluation_params(vus={"window": 20}))
    assert list(table.index) == ["a", "mean"]
    values = {k: v["value"] for k, v in mlflow_form.items()}
    assert values["entities_evaluated"] == 1 and values["f1"] == values["entity.a.f1"]
    assert "entity.b.f1" not in values and "threshold" not in values  # thresholds are per entity, not averaged


def test_random_control_is_the_random_detector_on_the_same_timestamps():
    val, test = score_frame(labelled=False), entity_frame({"a": score_frame(seed=1), "b": score_frame(seed=2)})
    seeded = evaluation_params(random_control={"seed": 3})
    control_val, control_test = nodes.score_random_control(val, test, seeded)
    again_val, again_test = nodes.score_random_control(val, test, seeded)
    other_val, _ = nodes.score_random_control(val, test, evaluation_params(random_control={"seed": 4}))
    pd.testing.assert_frame_equal(control_test, again_test)
    pd.testing.assert_frame_equal(control_val, again_val)
    assert not np.allclose(control_val["score"], other_val["score"])
    assert control_test.index.equals(test.index) and control_val.index.equals(val.index)
    np.testing.assert_array_equal(control_test["label"], test["label"])
    assert 0 <= control_test["score"].min() and control_test["score"].max() < 1
    # The random detector's draws: seeded by (seed, split, entity position), validation 0 and test 1.
    detector = RandomDetector.from_params({"seed": 3})
    np.testing.assert_array_equal(control_val["score"], detector.draw(len(val), (0, 0)))
    np.testing.assert_array_equal(control_test.loc["b", "score"], detector.draw(3000, (1, 1)))


def test_control_without_a_threshold_reports_threshold_free_metrics_only():
    control_val, control_test = nodes.score_random_control(score_frame(labelled=False), score_frame(seed=1),
                                                           EVALUATION)
    options = {"strategy": "pot", "q": 0.5, "level": 0.9}  # q above the share of peaks: no threshold
    with pytest.raises(thresholds.ThresholdError):
        nodes.fit_threshold(control_val, options)
    record = nodes.fit_control_threshold(control_val, options)
    assert record == {**options, "values": {"": None}}
    mlflow_form, table = nodes.evaluate(control_test, record, EVALUATION)
    assert "f1" not in mlflow_form and "roc_auc" in mlflow_form and "oracle_f1" in mlflow_form


def test_evaluation_and_threshold_parameters_are_complete_and_known():
    test = score_frame()
    record = nodes.fit_threshold(score_frame(labelled=False, signal=0, seed=1), {"strategy": "quantile", "q": 0.99})
    with pytest.raises(ValueError, match=r"unknown evaluation parameter\(s\) \['vuss'\]"):
        nodes.evaluate(test, record, EVALUATION | {"vuss": {}})
    with pytest.raises(ValueError, match=r"evaluation parameter\(s\) \['pa_k'\] missing"):
        nodes.evaluate(test, record, {k: v for k, v in EVALUATION.items() if k != "pa_k"})
    with pytest.raises(ValueError, match=r"unknown evaluation.vus parameter\(s\) \['windw'\]"):
        nodes.evaluate(test, record, evaluation_params(vus={"windw": 20}))
    with pytest.raises(ValueError, match="name no strategy"):
        nodes.fit_threshold(test, {"q": 0.99})


@pytest.mark.parametrize("options", [
    {"strategy": "quantile", "q": 0.99},
    {"strategy": "k_sigma", "k": 4},
    {"strategy": "pot", "q": 1e-3, "level": 0.95},
    {"strategy": "spot", "q": 1e-3, "level": 0.95},
    {"strategy": "distri_tail_noise_2th", "on_failure": "max"},
    {"strategy": "dynamic", "span": 5, "error_buffer": 5},
    {"strategy": "quantile", "q": 0.95, "persistence": 3},
])
def test_every_strategy_runs_through_the_stage(options):
    val, test = score_frame(n=6000, labelled=False, signal=0, seed=1), score_frame(n=6000, seed=2, signal=6)
    record = nodes.fit_threshold(val, options)
    mlflow_form, table = nodes.evaluate(test, record, evaluation_params(vus={"window": 10, "n_thresholds": 50}))
    values = {k: v["value"] for k, v in mlflow_form.items()}
    assert values["roc_auc"] > 0.9 and 0 <= values["f1"] <= 1 and values["flagged_fraction"] < 0.5
    fitted = thresholds.from_record(record, "")
    assert values["flagged_fraction"] == pytest.approx(thresholds.apply(test["score"].to_numpy(), fitted).flags.mean())
