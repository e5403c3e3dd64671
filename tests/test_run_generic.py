"""Datasets declared only in a temporary project's configuration (``datasets.<name>.source``) run through
``pca_<name>`` in-process, with no code change: CSV with timestamps and labels, Parquet without labels, and a
folder of per-entity CSVs; a bad file writes nothing; ``env`` decides which datasets exist; parties' own files
aligned and split by ``transformer_vfl_<name>`` as they are owned."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import latest_version, mlflow_run, set_model_options, write_server_folder
from kedro.framework.session import KedroSession

from tsad import settings
from tsad.config import TsadConfigLoader
from tsad.core.errors import DataFormatError
from tsad.pipeline_registry import register_pipelines

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def declare(project: Path, datasets: dict, env: str = "local") -> None:
    """The one entry a user writes: datasets.<name> with its source block, in conf/<env>/parameters.yml."""
    (project / "conf" / env).mkdir(exist_ok=True)
    (project / "conf" / env / "parameters.yml").write_text(yaml.safe_dump({"datasets": datasets}))


def run(project: Path, pipeline: str, env: str | None = None, **runtime_params) -> None:
    with KedroSession.create(project_path=project, env=env, runtime_params=runtime_params or None) as session:
        session.run(pipeline_names=[pipeline])


def latest(project: Path, relative: str) -> pd.DataFrame:
    return pd.read_parquet(max((project / relative).rglob("*.parquet")))


def plant_export(frame: pd.DataFrame, time_format: str = "%d/%m/%Y %H:%M:%S") -> pd.DataFrame:
    """A typed synthetic series written the way a plant historian exports it."""
    out = frame.drop(columns="label").rename(columns=lambda c: f"sensor_{c}")
    out.insert(0, "Time", frame.index.strftime(time_format))
    out["Status"] = np.where(frame["label"].to_numpy() == 1, "ALARM", "ok")
    return out.reset_index(drop=True)


def test_csv_with_timestamps_and_labels_trains_and_registers_pca(project, make_series):
    raw = project / "plant_files"
    raw.mkdir()
    plant_export(make_series(1500, seed=1, anomalies=False)).drop(columns="Status").to_csv(
        raw / "normal.csv", index=False)
    plant_export(make_series(1500, seed=2, start="2021-01-02")).to_csv(raw / "attack.csv", index=False)
    declare(project, {"boiler": {"source": {
        "train": "plant_files/normal.csv", "test": "plant_files/attack.csv",
        "timestamp": {"column": "Time", "format": "%d/%m/%Y %H:%M:%S"},
        "label": {"column": "Status", "anomaly": ["ALARM"], "normal": ["ok"]}}}})
    run(project, "pca_boiler")

    metrics = mlflow_run(project, "pca_boiler").data.metrics
    assert metrics["pca.roc_auc"] > metrics["random_control.roc_auc"] + 0.1, metrics
    raw_test = latest(project, "data/01_raw/boiler/raw_test.parquet")
    assert raw_test.index.name == "timestamp" and raw_test.index[0] == pd.Timestamp("2021-01-02")
    assert list(raw_test.columns) == [f"sensor_c{i}" for i in range(5)] + ["label"]
    assert raw_test["label"].sum() == make_series(1500, seed=2)["label"].sum()
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    (version,) = client.search_model_versions("name='pca_boiler'")
    assert version.tags["dataset"] == "boiler" and "metric.roc_auc" in version.tags


def test_parquet_without_labels_runs_and_flags_new_data(project, make_series):
    frame = make_series(2400, seed=3)
    export = plant_export(frame).drop(columns=["Status", "Time"])
    export.insert(0, "ts", frame.index)  # a datetime column, as Parquet stores it
    (project / "historian").mkdir()
    export.to_parquet(project / "historian" / "line3.parquet", index=False)
    declare(project, {"line3": {"source": {"train": "historian/line3.parquet", "timestamp": "ts",
                                           "split": {"at": "2021-01-01 00:25:00"}}}})
    run(project, "pca_line3")
    run(project, "random_line3")

    for name in ("pca_line3", "random_line3"):
        record = mlflow_run(project, name)
        assert not any(key.endswith(("f1", "roc_auc")) for key in record.data.metrics), record.data.metrics
    threshold = json.loads(max((project / "data/07_model_output/line3/pca/threshold.json").rglob("*.json"))
                           .read_text())
    assert np.isfinite(threshold["values"][""])
    scores = latest(project, "data/07_model_output/line3/pca/scores_test.parquet")
    assert list(scores.columns) == ["score"] and len(scores) == 2400 - 1500
    report = latest_version(project / "data/08_reporting/line3/pca/evaluation_report.md").read_text()
    assert "The test data has no labels: no metric is computed." in report
    assert latest_version(project / "data/08_reporting/line3/pca/score_timeline.png").stat().st_size > 0

    # The registered model flags new data: batch inference on the whole file.
    run(project, "inference_line3", model_uri="models:/pca_line3/1",
        new_data=str(project / "historian" / "line3.parquet"))
    flagged = latest(project, "data/07_model_output/line3/inference/scores.parquet")
    assert len(flagged) == 2400 and set(flagged.columns) == {"timestamp", "score", "flag"}
    # The test part holds the injected anomalies: the flags fall mostly there, where the labels were.
    labels = frame["label"].to_numpy()
    assert flagged["flag"].sum() > 0 and labels[flagged["flag"].to_numpy() == 1].mean() > 0.5


def test_a_folder_of_per_entity_csvs_split_by_fraction(project):
    write_server_folder(project / "servers")
    declare(project, {"fleet": {"source": {"train": "servers", "split": {"fraction": 0.5}, "label": "anomaly",
                                           "exclude": ["db-*"]},
                                "windowing": {"window": 8}}})
    run(project, "pca_fleet")

    metrics = mlflow_run(project, "pca_fleet").data.metrics
    assert {"pca.entity.web-1.roc_auc", "pca.entity.web-2.roc_auc"} <= set(metrics)
    assert metrics["pca.entities_evaluated"] == 2.0 and not any("db-1" in key for key in metrics)
    raw_train = latest(project, "data/01_raw/fleet/raw_train.parquet")
    assert raw_train.index.names == ["entity", "step"] and len(raw_train) == 1600


def test_a_glob_over_folders_with_missing_values_dropped(project, make_series):
    for i, name in enumerate(["valve_a/0", "valve_b/0"]):  # the same file name in two folders: two entities
        frame = make_series(1600, seed=20 + i, channels=4)
        out = frame.drop(columns="label").reset_index(drop=True)
        out["anomaly"] = frame["label"].to_numpy()
        out.loc[:799, "anomaly"] = 0
        out.loc[500:509, "c1"] = np.nan  # a logger gap in the training part, and one in the test part
        out.loc[1100:1102, "c2"] = np.nan
        (project / "rig" / name).parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(project / "rig" / f"{name}.csv", index=False)
    declare(project, {"rig": {"source": {"train": "rig/*/*.csv", "split": {"fraction": 0.5}, "label": "anomaly"},
                              "cleaning": {"nan_policy": "drop"}, "windowing": {"window": 8}}})
    run(project, "pca_rig")

    metrics = mlflow_run(project, "pca_rig").data.metrics
    assert {"pca.entity.valve_a/0.roc_auc", "pca.entity.valve_b/0.roc_auc"} <= set(metrics)
    report = json.loads(max((project / "data/02_intermediate/rig").rglob("cleaning_report.json")).read_text())
    assert report["dropped"] == {f"training data (entity '{e}')": {"rows": 10, "stretches": 1}
                                 for e in ("valve_a/0", "valve_b/0")}
    scores = latest(project, "data/07_model_output/rig/pca/scores_test.parquet")
    assert len(scores) == 2 * (800 - 3) and scores.index.is_unique  # every kept test row, once


def test_a_bad_file_stops_ingestion_and_writes_nothing(project, make_series):
    (project / "files").mkdir()
    frame = plant_export(make_series(400, seed=4))
    frame.iloc[:200].to_csv(project / "files" / "train.csv", index=False)
    frame.loc[250, "Status"] = "ALRAM"
    frame.iloc[200:].to_csv(project / "files" / "test.csv", index=False)
    declare(project, {"kiln": {"source": {
        "train": "files/train.csv", "test": "files/test.csv",
        "timestamp": {"column": "Time", "format": "%d/%m/%Y %H:%M:%S"},
        "label": {"column": "Status", "anomaly": ["ALARM"], "normal": ["ok"]}}}})
    with pytest.raises(DataFormatError, match=r"files/test.csv: column 'Status', line 52: label 'ALRAM' is not"):
        run(project, "data_kiln")
    assert not (project / "data" / "01_raw" / "kiln").exists()


def test_the_run_environment_decides_which_datasets_exist(project, make_series):
    (project / "files").mkdir()
    plant_export(make_series(300, seed=5)).to_csv(project / "files" / "all.csv", index=False)
    declare(project, {"mill": {"source": {"train": "files/all.csv", "split": {"fraction": 0.6},
                                          "timestamp": {"column": "Time", "format": "%d/%m/%Y %H:%M:%S"}}}},
            env="plant")
    with pytest.raises(ValueError, match="Failed to find the pipeline named 'data_mill'"):
        run(project, "data_mill")  # conf/local does not declare it
    run(project, "data_mill", env="plant")
    assert len(latest(project, "data/01_raw/mill/raw_train.parquet")) == 180


def test_the_registry_reads_the_project_it_runs_in(project):
    declare(project, {"mill": {"source": {"train": "files/all.csv", "split": {"fraction": 0.6}}}})
    TsadConfigLoader(str(ROOT / "conf"), **settings.CONFIG_LOADER_ARGS)  # another project's loader, made last
    pipelines = register_pipelines()
    assert {"data_mill", "pca_mill", "tman_mill", "inference_mill", "pca_swat"} <= set(pipelines)


def test_parties_files_are_aligned_and_split_the_vfl_model_as_owned(project, make_series):
    (project / "parties").mkdir()
    for split, frame in (("train", make_series(500, seed=4, anomalies=False)),
                         ("test", make_series(500, seed=5, start="2021-01-02"))):
        utility = frame[["c0", "c1", "c2", "label"]].drop(frame.index[[5, 6]])  # rows its logger lost
        vendor = frame[["c3", "c4"]].set_axis(frame.index + pd.Timedelta("300ms"))  # its clock is late
        for party, part in (("utility", utility), ("vendor", vendor)):
            part.rename_axis("time").reset_index().to_csv(project / "parties" / f"{party}_{split}.csv", index=False)
    declare(project, {"works": {
        "source": {"parties": {p: {"train": f"parties/{p}_train.csv", "test": f"parties/{p}_test.csv"}
                               for p in ("utility", "vendor")},
                   "alignment": {"tolerance": "500ms"}, "timestamp": "time", "label": "label"},
        "windowing": {"window": 8}}})
    set_model_options(project, transformer_vfl={"epochs": 1, "feedforward_size": 32, "progress": False})
    run(project, "transformer_vfl_works")

    metrics = mlflow_run(project, "transformer_vfl_works").data.metrics
    assert {k: v for k, v in metrics.items() if k.startswith("alignment.")} == {
        f"alignment.{split}.dropped.{party}": float(party == "vendor") * 2
        for split in ("train", "test") for party in ("utility", "vendor")}
    assert "transformer_vfl.roc_auc" in metrics
    report = json.loads(latest_version(project / "data/02_intermediate/works/cleaning_report.json").read_text())
    assert report["parties"] == {"utility": ["c0", "c1", "c2"], "vendor": ["c3", "c4"]}
    assert any("dropped as another party lacks them: utility 0, vendor 2" in note for note in report["notes"])
    checkpoint = torch.load(latest_version(project / "data/06_models/works/transformer_vfl/detector.pt"),
                            weights_only=True)
    assert checkpoint["entities"][""]["config"]["parties"] == [{"name": "utility", "channels": ["c0", "c1", "c2"]},
                                                                {"name": "vendor", "channels": ["c3", "c4"]}]
