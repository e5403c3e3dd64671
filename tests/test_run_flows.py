"""stf2dgl_swat through a Kedro session on the tiny simulated plant, in a temporary project copy: a graph flow's run
trains under ours and the zero_label protocol beside it, logs the sensor graph and registers the model."""

from __future__ import annotations

import mlflow
import pytest
from conftest import mlflow_run, set_model_options
from kedro.framework.session import KedroSession

pytestmark = pytest.mark.slow


def test_stf2dgl_swat_logs_both_protocols_and_the_sensor_graph_and_registers_a_model(project):
    set_model_options(project, stf2dgl={"epochs": 2, "epoch_windows": 256, "hidden_size": 8, "progress": False})
    with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": "tiny"}) as session:
        session.run(pipeline_names=["stf2dgl_swat"])
    run = mlflow_run(project, "stf2dgl_swat")
    for name in ("roc_auc", "f1", "zero_label.window_roc_auc", "zero_label.window_pr_auc"):
        assert f"stf2dgl.{name}" in run.data.metrics and f"random_control.{name}" in run.data.metrics, name
    # ours from conf/local; the zero_label protocol's own bound (datasets.swat.protocols.zero_label.methods)
    bounds = {key: value for key, value in run.data.params.items() if key.endswith("model.epoch_windows")}
    assert bounds == {"experiments.stf2dgl_swat.model.epoch_windows": "256",
                      "experiments.stf2dgl_swat.zero_label.model.epoch_windows": "512"}, bounds
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    for folder in ("", "zero_label"):
        logged = {item.path for item in client.list_artifacts(run.info.run_id, folder or None)}
        prefix = f"{folder}/" if folder else ""
        for name in ("sensor_graph.png", "sensor_graph.parquet", "metrics_table.csv"):
            assert f"{prefix}{name}" in logged, (folder, name, sorted(logged))
    assert client.search_model_versions("name='stf2dgl_swat'")
