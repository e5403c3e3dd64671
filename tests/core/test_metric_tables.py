"""Metrics tables in MLflow's form, and the evaluation options (every one set by defaults.yml, none by code)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import EVALUATION, evaluation_params

from tsad.core.evaluation import EvaluationOptions, mlflow_metrics, with_mean_row


def table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "entity"
    return out


def test_a_single_series_logs_plain_names_without_non_finite_values():
    logged = mlflow_metrics(table({"series": {"f1": 0.5, "precision": math.nan, "threshold": 2.0}}))
    assert logged == {"f1": {"value": 0.5, "step": 0}, "threshold": {"value": 2.0, "step": 0}}


def test_entities_log_their_own_names_and_the_mean_but_no_mean_threshold():
    averaged = with_mean_row(table({"a": {"f1": 0.2, "threshold": 1.0}, "b": {"f1": 0.6, "threshold": 3.0}}))
    assert list(averaged.index) == ["a", "b", "mean"] and averaged.at["mean", "f1"] == pytest.approx(0.4)
    assert np.isnan(averaged.at["mean", "threshold"])  # a mean of per-entity thresholds means nothing
    logged = {name: value["value"] for name, value in mlflow_metrics(averaged, count_name="evaluated").items()}
    assert logged == {"entity.a.f1": 0.2, "entity.a.threshold": 1.0, "entity.b.f1": 0.6, "entity.b.threshold": 3.0,
                      "f1": pytest.approx(0.4), "evaluated": 2.0}
    assert mlflow_metrics(pd.DataFrame()) == {}


def test_options_come_whole_from_the_parameters():
    options = EvaluationOptions.from_params(EVALUATION)
    assert options.vus.window == EVALUATION["vus"]["window"]
    assert options.report.context == EVALUATION["report"]["context"]
    cast = EvaluationOptions.from_params(evaluation_params(vus={"window": 20.0}, pa_k={"step": 5}))
    assert isinstance(cast.vus.window, int) and isinstance(cast.pa_k.step, float)
    with pytest.raises(ValueError, match=r"unknown evaluation parameter\(s\) \['vuss'\]"):
        EvaluationOptions.from_params(EVALUATION | {"vuss": {}})
    with pytest.raises(ValueError, match=r"evaluation.report parameter\(s\) \['context'\] missing"):
        EvaluationOptions.from_params(EVALUATION | {"report": {"top_events": 5, "top_channels": 15}})
