"""Whole pipelines through a Kedro session, in-process, in a temporary copy of the project.

These run the real configuration (catalog, parameters, kedro-mlflow hooks) on the "tiny" simulator preset,
with the MLflow store and data/ inside the temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tsad.connectors.swat import write_swat_csv
from tsad.core.errors import DataFormatError
from tsad.simulators.swat_plant import simulate_preset

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "src").mkdir()  # the package itself is installed (pip install -e .)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("TSAD_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    bootstrap_project(tmp_path)
    return tmp_path


def run(project: Path, pipeline: str, preset: str = "tiny") -> None:
    with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": preset}) as session:
        session.run(pipeline_names=[pipeline])


def run_metrics(project: Path, name: str) -> dict[str, float]:
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("tsad")
    runs = client.search_runs([experiment.experiment_id], filter_string=f"attributes.run_name = '{name}'")
    assert len(runs) == 1, f"expected one MLflow run named {name}"
    return runs[0].data.metrics


def versions(folder: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(folder)): sorted(v.name for v in p.iterdir())
            for p in folder.rglob("*.parquet") if p.is_dir()}


def test_pca_swat_logs_metrics_and_versions_artifacts(project):
    run(project, "pca_swat")
    run(project, "random_swat")
    pca, rand = run_metrics(project, "pca_swat"), run_metrics(project, "random_swat")
    for key in ("f1", "pa_f1", "roc_auc", "pr_auc", "oracle_f1", "oracle_pa_f1"):
        assert f"pca.{key}" in pca and f"random.{key}" in rand
    # PCA beats the random control on the simulated plant by a clear ROC-AUC margin.
    assert pca["pca.roc_auc"] > rand["random.roc_auc"] + 0.1, (pca["pca.roc_auc"], rand["random.roc_auc"])
    stored = versions(project / "data")
    for artifact in ("01_raw/swat/raw_train.parquet", "01_raw/swat/raw_test.parquet",
                     "02_intermediate/swat/clean_test.parquet", "04_feature/swat/features_test.parquet",
                     "07_model_output/swat/pca/scores_test.parquet"):
        assert len(stored[artifact]) >= 1, artifact
    assert len(stored["01_raw/swat/raw_train.parquet"]) == 2  # one version per run
    scores = pd.read_parquet(next((project / "data/07_model_output/swat/pca/scores_test.parquet").rglob("*.parquet")))
    assert list(scores.columns) == ["score", "label"] and scores.index.name == "timestamp"


def test_a_bad_source_file_writes_nothing_and_keeps_earlier_versions(project):
    plant = simulate_preset("tiny")
    normal, attack = project / "real" / "SWaT_Dataset_Normal_v1.csv", project / "real" / "SWaT_Dataset_Attack_v0.csv"
    write_swat_csv(plant.normal, normal)
    write_swat_csv(plant.attack, attack, sep=";", decimal=",")
    (project / "conf" / "local" / "catalog.yml").write_text(
        f"swat.source_train: {{type: tsad.datasets.SwatExportDataset, filepath: {normal}}}\n"
        f"swat.source_test: {{type: tsad.datasets.SwatExportDataset, filepath: {attack}}}\n")
    run(project, "data_swat")
    before = versions(project / "data")
    lines = attack.read_text().splitlines()
    lines[100] = lines[100].replace(";", ";oops", 1)  # FIT101 on line 101 is no longer a number
    attack.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"{attack}: column 'FIT101', line 101"):
        run(project, "data_swat")
    assert versions(project / "data") == before
    assert attack.read_text().splitlines()[100].count("oops") == 1  # the source file is never rewritten
