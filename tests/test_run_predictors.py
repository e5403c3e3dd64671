"""transformer_swat, lstm_swat and transformer_vfl_swat through a Kedro session on the tiny simulated plant, in a
temporary project copy: the methods' own configuration (per-channel DistriTailNoise2Th, aggregation ``last``) end to
end, with MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import set_model_options
from kedro.framework.session import KedroSession

from tsad.core import thresholds
from tsad.core.score_frames import flag_scores

pytestmark = pytest.mark.slow


@pytest.fixture
def project(project):
    """The shared project, with one small epoch per predictor so that a run takes seconds (the copy's config only)."""
    set_model_options(project, transformer={"epochs": 1, "feedforward_size": 32, "progress": False},
                      lstm={"epochs": 1, "progress": False},
                      transformer_vfl={"epochs": 1, "feedforward_size": 32, "progress": False})
    return project


def latest(folder: Path) -> Path:
    return sorted(folder.rglob("*.*"))[-1]


@pytest.mark.parametrize("method", ["transformer", "lstm", "transformer_vfl"])
def test_predictor_swat_logs_metrics_with_per_channel_thresholds(project, method):
    with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": "tiny"}) as session:
        session.run(pipeline_names=[f"{method}_swat"])
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("tsad")
    (run,) = client.search_runs([experiment.experiment_id], filter_string=f"attributes.run_name = '{method}_swat'")
    logged = run.data.metrics
    for key in ("f1", "pa_f1", "roc_auc", "oracle_f1"):
        assert f"{method}.{key}" in logged and f"random_control.{key}" in logged
    assert f"{method}.threshold" not in logged  # one threshold per channel: no single value
    assert f"{method}.train.val_loss" in logged
    scores = pd.read_parquet(latest(project / f"data/07_model_output/swat/{method}/scores_test.parquet"))
    channels = [c for c in scores.columns if c.startswith("score.")]
    assert len(channels) > 10 and scores.index.name == "timestamp"
    np.testing.assert_allclose(scores["score"], scores[channels].sum(axis=1), rtol=1e-10)
    record = json.loads(latest(project / f"data/07_model_output/swat/{method}/threshold.json").read_text())
    assert record["strategy"] == "distri_tail_noise_2th" and record["per_channel"] == {"combine": "any", "k": 1}
    assert set(record["values"][""]) == {c[len("score."):] for c in channels}
    flags = flag_scores(scores, thresholds.from_record(record, "")).flags
    assert logged[f"{method}.flagged_fraction"] == pytest.approx(flags.mean())
    assert client.search_model_versions(f"name='{method}_swat'")  # registered like every method
