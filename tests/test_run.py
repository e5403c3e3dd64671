"""Whole pipelines through a Kedro session, in-process, in a temporary copy of the project.

These run the real configuration (catalog, parameters, kedro-mlflow hooks) on the "tiny" simulator preset,
with the MLflow store and data/ inside the temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import TINY_SWAT, declare_plugin_method, mlflow_run, set_model_options
from kedro.framework.session import KedroSession

from tsad.config import ParameterError
from tsad.core.errors import DataFormatError
from tsad.core.preprocessing import preprocess
from tsad.datasets.swat.files import write_swat_csv
from tsad.pipelines.serving.nodes import bundle_preprocessing, prepare_model_input
from tsad.pipelines.windowing.nodes import make_windows
from tsad.serving import swat_input_format, swat_model_input
from tsad.simulators.swat_plant import simulate_preset

pytestmark = pytest.mark.slow


def run(project: Path, pipeline: str, preset: str = "tiny") -> None:
    with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": preset}) as session:
        session.run(pipeline_names=[pipeline])


def versions(folder: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(folder)): sorted(v.name for v in p.iterdir())
            for p in folder.rglob("*.parquet") if p.is_dir()}


def test_pca_swat_logs_metrics_and_versions_artifacts(project):
    run(project, "pca_swat")
    run(project, "random_swat")
    pca, rand = mlflow_run(project, "pca_swat").data.metrics, mlflow_run(project, "random_swat").data.metrics
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
    evidence = [c for c in scores.columns if c.startswith("departed.")]  # the simulator's idle actuators (P102 ...)
    assert list(scores.columns) == ["score", *evidence, "departed", "label"] and scores.index.name == "timestamp"
    assert "departed.P102" in evidence


def test_a_second_run_keeps_every_file_of_the_first(project):
    run(project, "pca_swat")
    first = {p: p.read_bytes() for p in (project / "data").rglob("*") if p.is_file()}
    run(project, "pca_swat")
    after = {p: p.read_bytes() for p in (project / "data").rglob("*") if p.is_file()}
    assert {p: after.get(p) for p in first} == first  # nothing the first run wrote was overwritten or removed
    # every file a run writes is one version of a dataset, <name>/<version>/<name> (artifacts: <name>/<version>/...);
    # the simulated plant's export files are the run's input, written once per preset
    unversioned = [str(p.relative_to(project / "data")) for p in after
                   if p.parent.parent.name != p.name and p.parents[1].name != "artifacts"
                   and project / "data/01_raw/swat/simulated" not in p.parents]
    assert unversioned == [], unversioned
    for model_file in ("06_models/swat/pca/detector.pt", "06_models/swat/pca/model_bundle.pt",
                       "05_model_input/swat/model_input.parquet", "08_reporting/swat/gra_grades.png",
                       "08_reporting/swat/pca/score_timeline.png"):
        assert len(list((project / "data" / model_file).iterdir())) == 2, model_file
    # each registered version carries its own run's bundle
    client = mlflow.MlflowClient()
    sources = {v.version: v.run_id for v in client.search_model_versions("name='pca_swat'")}
    assert len(set(sources.values())) == 2


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


def shrink_tman(project: Path) -> None:
    """Two small epochs, so that a whole tman_swat run takes seconds (the copy's configuration only)."""
    set_model_options(project, tman={"epochs": 2, "hidden_size": 16, "progress": False})


PREDICT_IN_A_NEW_PROCESS = """
import sys
import mlflow
from tsad.serving import swat_model_input
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model(sys.argv[2])
predictions = model.predict(swat_model_input(sys.argv[3]))  # the raw SWaT test file as distributed
predictions.to_parquet(sys.argv[4])
"""


def predict_in_a_new_process(project: Path, tmp_path: Path, method: str, version: str
                             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``models:/<method>_swat/<version>``'s predictions on the raw attack file, made in a new process, and the
    training pipeline's own test scores."""
    out = tmp_path / "predictions.parquet"
    attack = project / TINY_SWAT / "SWaT_Dataset_Attack_v0.csv"
    subprocess.run([sys.executable, "-c", PREDICT_IN_A_NEW_PROCESS, f"sqlite:///{project}/mlflow.db",
                    f"models:/{method}_swat/{version}", str(attack), str(out)], check=True, cwd=tmp_path, timeout=300)
    pipeline_scores = pd.read_parquet(next((project / f"data/07_model_output/swat/{method}/scores_test.parquet")
                                           .rglob("*.parquet")))
    return pd.read_parquet(out), pipeline_scores


def test_tman_swat_registers_a_model_that_reproduces_the_test_scores(project, tmp_path):
    shrink_tman(project)
    run(project, "tman_swat")
    uri = f"sqlite:///{project}/mlflow.db"
    client = mlflow.MlflowClient(uri)
    (version,) = client.search_model_versions("name='tman_swat'")
    assert version.tags["dataset"] == "swat" and len(version.tags["dataset_fingerprint"]) == 64
    assert "git_commit" in version.tags and "metric.roc_auc" in version.tags
    model_info = mlflow.models.get_model_info(f"models:/tman_swat/{version.version}")
    assert "Timestamp" in model_info.signature.inputs.input_names()
    assert model_info.saved_input_example_info is not None

    attack = project / TINY_SWAT / "SWaT_Dataset_Attack_v0.csv"
    predictions, pipeline_scores = predict_in_a_new_process(project, tmp_path, "tman", version.version)
    assert len(predictions) == len(pipeline_scores)
    np.testing.assert_allclose(predictions["score"].to_numpy(), pipeline_scores["score"].to_numpy(), atol=1e-5)
    assert set(predictions["flag"].unique()) <= {0, 1}

    # Batch inference from the registry by alias writes timestamped scores and flags.
    client.set_registered_model_alias("tman_swat", "champion", version.version)
    with KedroSession.create(project_path=project, runtime_params={
            "swat_simulator_preset": "tiny", "model_uri": "models:/tman_swat@champion",
            "new_data": str(attack)}) as session:
        session.run(pipeline_names=["inference_swat"])
    scores = pd.read_parquet(next((project / "data/07_model_output/swat/inference/scores.parquet").rglob("*.parquet")))
    assert pd.api.types.is_datetime64_any_dtype(scores["timestamp"])
    np.testing.assert_allclose(scores["score"].to_numpy(), pipeline_scores["score"].to_numpy(), atol=1e-5)

    # Fewer rows than one window are refused.
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/tman_swat/{version.version}")
    with pytest.raises(Exception, match="fewer than one window of 12"):
        model.predict(swat_model_input(str(attack)).head(5))

    # A file whose columns do not match the signature is refused, naming them.
    bad = tmp_path / "bad.csv"
    pd.read_csv(attack).drop(columns=["LIT101"]).rename(columns={"FIT101": "FIT999"}).to_csv(bad, index=False)
    with pytest.raises(Exception, match=r"missing columns \['FIT101', 'LIT101'\], unexpected columns \['FIT999'\]"):
        with KedroSession.create(project_path=project, runtime_params={
                "model_uri": "models:/tman_swat@champion", "new_data": str(bad)}) as session:
            session.run(pipeline_names=["inference_swat"])


def test_mgan_swat_evaluates_both_protocols_and_registers_a_model_for_raw_rows(project, tmp_path):
    set_model_options(project, mgan={"epochs": 2, "encoder_epochs": 1, "critic_steps": 1, "epoch_windows": 256,
                                     "progress": False})
    run(project, "mgan_swat")
    metrics = mlflow_run(project, "mgan_swat").data.metrics
    for name in ("roc_auc", "f1", "vus_pr", "mgan_paper.roc_auc", "mgan_paper.window_f1", "mgan_paper.window_pr_auc"):
        assert f"mgan.{name}" in metrics and f"random_control.{name}" in metrics, name
    (version,) = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db").search_model_versions("name='mgan_swat'")
    predictions, pipeline_scores = predict_in_a_new_process(project, tmp_path, "mgan", version.version)
    np.testing.assert_allclose(predictions["score"].to_numpy(), pipeline_scores["score"].to_numpy(), atol=1e-5)
    assert set(predictions["flag"].unique()) <= {0, 1}


def test_pca_swat_zero_label_trains_on_the_head_of_the_attack_file_and_logs_window_aucs(project):
    run(project, "pca_swat_zero_label")
    metrics = mlflow_run(project, "pca_swat_zero_label").data.metrics
    for name in ("window_roc_auc", "window_pr_auc", "roc_auc"):
        assert f"pca.zero_label.{name}" in metrics and f"random_control.zero_label.{name}" in metrics, name
    raw = {split: pd.read_parquet(next((project / f"data/01_raw/swat.zero_label/raw_{split}.parquet")
                                       .rglob("*.parquet"))) for split in ("train", "test")}
    assert "label" not in raw["train"].columns and len(raw["train"]) == 4 * len(raw["test"])  # SWaT: 80 / 20
    assert raw["train"].index[-1] < raw["test"].index[0]
    own = pd.read_parquet(next((project / "data/07_model_output/swat/pca.zero_label/window_scores_test.parquet")
                               .rglob("*.parquet")))
    assert (own["window"] == 60).all() and len(own) == (len(raw["test"]) - 60) // 10 + 1
    run(project, "random_swat_zero_label")  # the random detector too (the comparisons' chance level)
    assert "random.zero_label.window_roc_auc" in mlflow_run(project, "random_swat_zero_label").data.metrics


def test_kedro_viz_builds_the_registered_pipelines(project):
    result = subprocess.run([str(Path(sys.executable).parent / "kedro"), "viz", "build"], cwd=project, check=False,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    api = json.loads((project / "build" / "api" / "main").read_text())
    assert {"tman_swat", "pca_swat", "data_swat", "inference_swat"} <= {p["id"] for p in api["pipelines"]}


def test_a_misspelled_model_parameter_fails_before_the_first_node(project):
    runtime = {"swat_simulator_preset": "tiny", "methods": {"tman": {"model": {"epoch": 3}}}}  # --params=methods...
    with pytest.raises(ParameterError, match=r"experiments\.tman_\w+\.model: unknown parameter\(s\) \['epoch'\]"), \
            KedroSession.create(project_path=project, runtime_params=runtime) as session:
        session.run(pipeline_names=["tman_swat"])
    assert not (project / "data").exists()  # nothing ran, nothing was written


NEW_DETECTOR = '''
import dataclasses

import numpy as np
import pandas as pd
import torch

from tsad.models.base import Detector, DetectorConfig


@dataclasses.dataclass
class MedianConfig(DetectorConfig):
    power: float = 2.0


class MedianDistance(Detector):
    """Distance of a window's values to the training median of each channel, plus of its channels' cosine
    matrix to the training mean one; the medians are its artifact."""

    config_class = MedianConfig
    views = ("cosine",)

    def _fit(self, windows_train, windows_val):
        views = self.window_views(windows_train)
        self.median_ = np.median(windows_train.reshape(-1, windows_train.shape[2]), axis=0)
        self.cosine_ = views["cosine"].mean(axis=0)

    def _score_windows(self, windows):
        views = self.window_views(windows)
        values = (np.abs(views["values"] - self.median_) ** self.config.power).mean(axis=(1, 2))
        return (values + np.abs(views["cosine"] - self.cosine_).mean(axis=(1, 2))).astype(np.float64)

    def artifacts(self):
        return {"channel_medians": pd.DataFrame({"median": self.median_})}

    def _state_tensors(self):
        return {"median": torch.from_numpy(self.median_), "cosine": torch.from_numpy(self.cosine_)}

    def _load_state_tensors(self, tensors):
        self.median_, self.cosine_ = tensors["median"].cpu().numpy(), tensors["cosine"].cpu().numpy()
'''


def test_a_method_declared_by_a_module_and_a_parameters_file_runs_and_registers(project, tmp_path, monkeypatch):
    declare_plugin_method(project, tmp_path / "plugins", monkeypatch, method="median",
                          detector="my_detectors.median.MedianDistance", source=NEW_DETECTOR, options=", power: 1.0")
    run(project, "median_swat")
    metrics = mlflow_run(project, "median_swat").data.metrics
    assert {"median.roc_auc", "median.f1", "random_control.roc_auc"} <= set(metrics)
    run_id = mlflow_run(project, "median_swat").info.run_id
    logged = [a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "detector_artifacts")]
    assert logged == ["detector_artifacts/channel_medians.parquet"]
    (saved,) = (project / "data/06_models/swat/median/artifacts").glob("*/artifacts/channel_medians.parquet")
    assert len(pd.read_parquet(saved)) == len(json.loads(next((project / "data/04_feature/swat").glob(
        "selected_features.json/*/selected_features.json")).read_text()))
    model = mlflow.pyfunc.load_model("models:/median_swat/1")
    rows = swat_model_input(str(project / TINY_SWAT / "SWaT_Dataset_Attack_v0.csv"))
    predictions = model.predict(rows.head(200))
    assert len(predictions) == 200 and np.isfinite(predictions["score"]).all()


def test_the_registered_model_preprocesses_raw_rows_as_the_pipeline_did(project):
    run(project, "pca_swat")
    with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": "tiny"}) as session:
        context = session.load_context()
        catalog, windowing = context.catalog, context.params["data"]["swat"]["windowing"]
        recipe = bundle_preprocessing(swat_input_format(catalog.load("swat.raw_test")),
                                      catalog.load("swat.cleaning_report"), catalog.load("swat.scaler"),
                                      catalog.load("swat.selected_features"), windowing)
        pipeline_features = catalog.load("swat.features_test").drop(columns="label")
    attack = project / TINY_SWAT / "SWaT_Dataset_Attack_v0.csv"
    rows = swat_model_input(str(attack))  # the raw file, as a client sends it to the registered model
    features = preprocess(prepare_model_input(rows, {"preprocessing": recipe}), recipe, "model input")
    pd.testing.assert_frame_equal(features, pipeline_features, check_exact=True, check_names=False)
    (ours,), (theirs,) = make_windows(features, windowing).values(), make_windows(pipeline_features, windowing).values()
    np.testing.assert_array_equal(ours.windows, theirs.windows)
