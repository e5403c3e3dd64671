"""TAnoGAN's protocol on NAB (datasets.nab.protocols.paper): whole series as training and test data, stride-1
training windows beside stride-60 test windows, and tanogan_nab end to end: both protocols, window-level metrics, in
one MLflow run."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import latest_version, mlflow_run
from kedro.framework.session import KedroSession

from tsad.datasets.nab import files as nab
from tsad.datasets.nab.ingest import ingest_nab
from tsad.pipelines.windowing.nodes import make_fit_windows, make_windows


def write_nab(root: Path, rows: int = 600) -> Path:
    """Two real-world series with a labelled bump each, and one artificial series, in NAB's layout."""
    windows = {}
    keys = ("realKnownCause/machine.csv", "realTraffic/speed.csv", "artificialNoAnomaly/a.csv")
    for position, key in enumerate(keys):
        rng = np.random.default_rng(position)
        stamps = pd.date_range("2014-01-01", periods=rows, freq="5min")
        values = np.sin(np.arange(rows) * 2 * np.pi / 40) + 0.05 * rng.normal(size=rows)
        windows[key] = []
        if key.startswith("real"):
            values[400:420] += 3.0
            windows[key] = [[str(stamps[400]), str(stamps[419])]]
        path = root / "data" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"), "value": values.round(4)}).to_csv(
            path, index=False)
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return root


def test_paper_protocol_keeps_each_whole_series_as_training_and_test_data(tmp_path):
    source = nab.series_source(write_nab(tmp_path / "NAB"))
    train, test = ingest_nab(source, source, {"entities": ["real*/*"], "protocol": "paper"})
    pd.testing.assert_frame_equal(train, test)
    assert len(train.loc["realTraffic/speed"]) == 600 and train.loc["realTraffic/speed", "label"].sum() == 20
    split_train, split_test = ingest_nab(source, source, {"entities": ["real*/*"], "train_fraction": 0.15})
    assert len(split_train.loc["realTraffic/speed"]) == 90 and len(split_test.loc["realTraffic/speed"]) == 510
    with pytest.raises(ValueError, match="ingestion.protocol must be 'split' or 'paper', got 'transductive'"):
        ingest_nab(source, source, {"protocol": "transductive"})


def test_training_windows_can_have_their_own_stride(tmp_path):
    source = nab.series_source(write_nab(tmp_path / "NAB"))
    frame = ingest_nab(source, source, {"entities": ["realTraffic/*"], "protocol": "paper"})[0]
    options = {"window": 60, "stride": 60, "fit_stride": 1}
    assert len(make_fit_windows(frame, options)["realTraffic/speed"].windows) == 541
    assert len(make_windows(frame, options)["realTraffic/speed"].windows) == 10
    assert len(make_fit_windows(frame, {"window": 60, "stride": 60})["realTraffic/speed"].windows) == 10


@pytest.mark.slow
def test_tanogan_nab_logs_both_protocols_side_by_side(project):
    write_nab(project / "shared" / "NAB")
    tiny = {"model": {"epochs": 1, "batch_size": 64, "generator_hidden": [4, 4, 8], "discriminator_hidden": 8,
                      "inversion_steps": 5, "device": "cpu", "progress": False}}
    runtime = {"data_root": str(project / "shared"),
               "datasets": {"nab": {"methods": {"tanogan": tiny}}}}  # both protocols inherit it
    with KedroSession.create(project_path=project, runtime_params=runtime) as session:
        session.run(pipeline_names=["tanogan_nab"])
    run = mlflow_run(project, "tanogan_nab")
    metrics = run.data.metrics
    # Ours: training on the leading 15 % of each series, point-wise metrics only.
    for name in ("f1", "roc_auc", "pr_auc", "entity.realTraffic/speed.f1"):
        assert f"tanogan.{name}" in metrics and f"random_control.{name}" in metrics, name
    assert not any(name.startswith("tanogan.window_") for name in metrics)
    # The paper's: whole series, point-wise and window-level metrics with window-level point adjustment.
    for name in ("f1", "roc_auc", "window_f1", "window_pa_f1", "window_oracle_pa_f1", "window_roc_auc",
                 "entity.realTraffic/speed.window_pa_f1", "entity.realTraffic/speed.f1"):
        assert f"tanogan.paper.{name}" in metrics, name
    assert metrics["tanogan.paper.window_entities_evaluated"] == 2
    assert "random_control.paper.window_pa_f1" in metrics and "random_control.paper.f1" in metrics
    assert metrics["tanogan.paper.window_count"] == 10  # 600 rows / 60: non-overlapping test windows
    assert metrics["tanogan.f1"] != metrics["tanogan.paper.f1"]
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    paper = {a.path for a in client.list_artifacts(run.info.run_id, "paper")}
    assert {"metrics_table.csv", "evaluation_report.md", "gra_grades.png", "paper"} <= artifacts
    assert {"paper/metrics_table.csv", "paper/evaluation_report.md", "paper/gra_grades.png"} <= paper
    assert latest_version(project / "data/08_reporting/nab/tanogan.paper/metrics_table.csv").exists()
