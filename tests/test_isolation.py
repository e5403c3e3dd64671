"""Runs that share no mutable file: a run in its own ``run_root``, and two ``kedro run`` started at once in one
project (one ``data/``, one SQLite MLflow store), each reading its own outputs (``tsad.hooks.RunOwnOutputsHook``),
each logging to the store (``tsad.tracking_store``), the simulator writing each preset and seed once.

One reference run (in ``runs/a``, with its own MLflow store), then two runs at once in ``data/`` on a fresh store:
one with the reference's settings, which must give the reference's results to the bit, and one with another
simulator seed, whose files it would otherwise be reading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from conftest import make_project

from tsad.config import LOADER_ARGS, TsadConfigLoader

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).parent / "kedro")
TINY = "swat_simulator_preset=tiny"


def kedro_run(project: Path, params: str, log: Path, store: str | None = None) -> subprocess.Popen:
    env = os.environ | ({"TSAD_MLFLOW_TRACKING_URI": store} if store else {})
    with log.open("w") as out:
        return subprocess.Popen([KEDRO, "run", "--pipelines=pca_swat", f"--params={params}"], cwd=project, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def finished(process: subprocess.Popen, log: Path) -> str:
    assert process.wait(timeout=600) == 0, log.read_text()[-4000:]
    return log.read_text()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    with pytest.MonkeyPatch.context() as monkeypatch:
        project = make_project(tmp_path_factory.mktemp("isolation"), monkeypatch)
        root = project / "runs" / "a"
        reference = f"sqlite:///{project}/reference.db"
        finished(kedro_run(project, f"{TINY},run_root={root}", project / "reference.log", reference),
                 project / "reference.log")
        data_after_reference = sorted(p for p in (project / "data").rglob("*") if p.is_file())
        both = {"same": kedro_run(project, TINY, project / "same.log"),
                "other": kedro_run(project, f"{TINY},swat_simulator_seed=7", project / "other.log")}
        logs = {name: finished(process, project / f"{name}.log") for name, process in both.items()}
        yield {"project": project, "root": root, "reference": reference, "logs": logs,
               "data_after_reference": data_after_reference}


def scores(folder: Path, version: str = "*") -> pd.DataFrame:
    (path,) = (folder / "07_model_output/swat/pca/scores_test.parquet").glob(f"{version}/scores_test.parquet")
    return pd.read_parquet(path)


def test_a_run_root_holds_every_output_and_data_only_the_simulated_sources(runs):
    simulated = runs["project"] / "data/01_raw/swat/simulated"
    assert runs["data_after_reference"] and all(simulated in p.parents for p in runs["data_after_reference"])
    layers = {p.name for p in runs["root"].iterdir()}
    assert layers >= {"01_raw", "02_intermediate", "03_primary", "04_feature", "05_model_input", "06_models",
                      "07_model_output", "08_reporting"}, layers
    assert list((runs["root"] / "06_models/swat/pca/model_bundle.pt").glob("*/model_bundle.pt"))


def test_checkpoints_go_under_the_run_root(tmp_path):
    root = tmp_path / "runs" / "b"
    loader = TsadConfigLoader(str(Path(__file__).resolve().parents[1] / "conf"), runtime_params={"run_root": str(root)},
                              **LOADER_ARGS)
    folders = {name: experiment["model"]["checkpoint_dir"]
               for name, experiment in loader["parameters"]["experiments"].items()
               if experiment["model"].get("checkpoint_dir")}
    assert "tman_swat" in folders
    assert {name: folder for name, folder in folders.items() if not folder.startswith(f"{root}/06_models/")} == {}


def test_two_runs_at_once_in_one_project_each_keep_their_own_results(runs):
    for name, log in runs["logs"].items():
        assert "did not match load version" not in log, name  # Kedro's sign of a run reading another's file
    client = mlflow.MlflowClient(f"sqlite:///{runs['project']}/mlflow.db")
    experiment = client.get_experiment_by_name("tsad").experiment_id
    by_seed = {"other" if "swat_simulator_seed" in run.data.tags["runtime_params"] else "same": run
               for run in client.search_runs([experiment], filter_string="attributes.run_name = 'pca_swat'")}
    assert set(by_seed) == {"same", "other"}
    reference_client = mlflow.MlflowClient(runs["reference"])
    (reference,) = reference_client.search_runs([reference_client.get_experiment_by_name("tsad").experiment_id])

    assert by_seed["same"].data.metrics == reference.data.metrics
    assert by_seed["other"].data.metrics["pca.roc_auc"] != reference.data.metrics["pca.roc_auc"]
    reference_scores = scores(runs["root"])
    data = runs["project"] / "data"
    pd.testing.assert_frame_equal(scores(data, by_seed["same"].data.tags["run_id"]), reference_scores,
                                  check_exact=True)  # the Kedro session id tagged by kedro-mlflow: the run's version
    assert not scores(data, by_seed["other"].data.tags["run_id"])["score"].equals(reference_scores["score"])

    versions = {v.run_id: v for v in client.search_model_versions("name='pca_swat'")}
    assert set(versions) == {run.info.run_id for run in by_seed.values()}
    (reference_version,) = reference_client.search_model_versions("name='pca_swat'")
    fingerprint = reference_version.tags["dataset_fingerprint"]  # from the cleaning report the model card reads
    assert versions[by_seed["same"].info.run_id].tags["dataset_fingerprint"] == fingerprint
    assert versions[by_seed["other"].info.run_id].tags["dataset_fingerprint"] != fingerprint
