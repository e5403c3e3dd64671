"""The benchmark grid on a Dask cluster: the same results as the sequential grid, a lost worker's cell run again
(resuming from its checkpoint), a failing cell reported while the others finish, per-entity runs merged."""

from __future__ import annotations

import math
import os

import mlflow
import pandas as pd
import pytest
import yaml
from conftest import declare_plugin_method, make_project, write_server_folder

from tsad import benchmark
from tsad.cluster import Cell, ClusterOptions, check_resources, merge_entities, run_rows

METRICS = ("f1", "pa_f1", "event_f1", "roc_auc", "pr_auc", "vus_pr", "oracle_f1")

# A TMAN whose worker process dies at the start of its second epoch, the first time only, and a detector that
# cannot be fitted. MARKS is the test's folder: the epochs each process trained, and the kill's marker.
FAULTS = '''
import os
import signal
from pathlib import Path

from tsad.models.pca import PcaDetector
from tsad.models.tman import TmanDetector

MARKS = Path({marks!r})


class KilledOnce(TmanDetector):
    def _train_step(self, batch, weights, epoch):
        if getattr(self, "epoch_seen", None) != epoch:
            self.epoch_seen = epoch
            with open(MARKS / "epochs", "a") as log:
                log.write(f"{{os.getpid()}} {{epoch}}\\n")
            if epoch == 1 and not (MARKS / "killed").exists():
                (MARKS / "killed").touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return super()._train_step(batch, weights, epoch)


class Broken(PcaDetector):
    def _fit(self, windows_train, windows_val):
        raise ValueError("this detector cannot be fitted")
'''


def test_per_entity_rows_merge_into_the_run_mean_as_the_evaluation_does():
    def part(entity, f1, roc, fit_s, peak):
        return {"dataset": "smd", "method": "pca", "seed": 0, "run_id": f"id-{entity}", "wall_s": 2.0,
                "fit_s": fit_s, "score_s": 0.5, "peak_mem_mib": peak, "peak_gpu_mib": float("nan"),
                "model.f1": f1, "model.roc_auc": roc, "model.threshold": float("nan"), "random_control.f1": 0.1,
                "attempts": 1, "error": None, "run_root": f"/g/runs/pca_smd_0/{entity}",
                "entities": [{"method": "pca", "entity": entity, "f1": f1}]}

    cells = [Cell("pca", "smd", 0, e) for e in ("m-1", "m-2", "m-3")] + [Cell("pca", "swat", 0)]
    whole = part("swat", 0.9, 0.9, 1.0, 1.0) | {"dataset": "swat", "run_root": "/g/runs/pca_swat_0"}
    rows = [part("m-1", 0.2, 0.5, 1.0, 10.0), part("m-2", 0.4, float("nan"), 2.0, 30.0),
            part("m-3", 0.9, 0.7, 3.0, 20.0) | {"attempts": 2}, whole]
    merged, kept = run_rows(cells, rows)
    assert kept is whole
    assert merged["model.f1"] == pytest.approx(0.5) and merged["model.roc_auc"] == pytest.approx(0.6)  # NaN skipped
    assert math.isnan(merged["model.threshold"]) and merged["random_control.f1"] == pytest.approx(0.1)
    assert merged["fit_s"] == 6.0 and merged["wall_s"] == 6.0 and merged["peak_mem_mib"] == 30.0
    assert merged["attempts"] == 2 and merged["run_root"] == "/g/runs/pca_smd_0" and merged["error"] is None
    assert merged["run_id"] == "id-m-1 id-m-2 id-m-3" and [r["entity"] for r in merged["entities"]] == ["m-1", "m-2",
                                                                                                       "m-3"]
    failed = merge_entities([rows[0], {**rows[1], "error": "ValueError: bad file"}])
    assert failed["error"] == "m-2: ValueError: bad file" and failed["entities"] == []


def test_cell_folders_are_safe_names():
    assert Cell("pca", "nab", 3, "realKnownCause/nyc taxi").name == "pca_nab_3/realKnownCause_nyc_taxi"
    assert Cell("pca", "swat", 0).name == "pca_swat_0"


@pytest.mark.slow
def test_a_grid_on_a_two_worker_local_cluster_gives_the_sequential_grid_s_metrics(project):
    grid = {"methods": ["pca", "random"], "datasets": ["swat"], "seeds": [0, 1, 2, 3]}
    params = {"swat_simulator_preset": "tiny"}
    sequential, _ = benchmark.run_grid(project, **grid, runtime_params=params, output_dir=project / "sequential",
                                       isolate=False)
    assert benchmark.main(["--methods", "pca", "random", "--datasets", "swat", "--seeds", "0", "1", "2", "3",
                           "--params", "swat_simulator_preset=tiny", "--output", str(project / "cluster"),
                           "--cluster", "local", "--workers", "2"]) == 0
    runs = pd.read_csv(project / "cluster" / "runs.csv")
    assert len(runs) == 8 and (runs["attempts"] == 1).all() and runs["error"].isna().all()
    columns = [f"{who}.{m}" for who in ("model", "random_control") for m in METRICS]
    pd.testing.assert_frame_equal(runs[["dataset", "method", "seed", *columns]],
                                  sequential[["dataset", "method", "seed", *columns]], check_exact=True)
    # Each run wrote under its own run root, none under data/; the leaderboards agree.
    assert sorted(p.name for p in (project / "cluster" / "runs").iterdir()) == sorted(
        f"{m}_swat_{s}" for m in grid["methods"] for s in grid["seeds"])
    assert (project / "cluster" / "runs" / "pca_swat_2" / "07_model_output" / "swat" / "pca").is_dir()
    board, expected = (pd.read_csv(project / name / "leaderboard.csv", index_col=["dataset", "method"])
                       for name in ("cluster", "sequential"))
    metric_columns = [c for c in expected.columns if c.rsplit("_", 1)[0] in METRICS]
    pd.testing.assert_frame_equal(board[metric_columns], expected[metric_columns], check_exact=True)
    # The runs logged through the grid's MLflow server into the project's SQLite store, which it closed after.
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("tsad")
    logged = {r.info.run_id for r in client.search_runs([experiment.experiment_id])}
    assert set(runs["run_id"]) <= logged
    assert "Uvicorn running on http://127.0.0.1" in (project / "cluster" / "mlflow_server.log").read_text()


@pytest.fixture(scope="module")
def faulty_grid(tmp_path_factory):
    """One grid on a 2-worker local cluster: a healthy cell, a cell whose worker dies once in training, and a
    cell whose detector raises."""
    folder = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as monkeypatch:
        project = make_project(folder / "project", monkeypatch)
        marks = folder / "marks"
        marks.mkdir()
        plugins = folder / "plugins"
        declare_plugin_method(project, plugins, monkeypatch, method="killed", detector="faults.detectors.KilledOnce",
                              source=FAULTS.format(marks=str(marks)),
                              options=", epochs: 2, batch_size: 64, hidden_size: 8, latent_size: 4, device: cpu")
        declare_plugin_method(project, plugins, monkeypatch, method="broken", detector="faults.detectors.Broken",
                              source=FAULTS.format(marks=str(marks)))
        # The workers are new processes: they find the plugins through PYTHONPATH.
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(plugins), os.getenv("PYTHONPATH")])))
        code = benchmark.main(["--methods", "random", "killed", "broken", "--datasets", "swat", "--seeds", "0",
                               "--params", "swat_simulator_preset=tiny", "--output", str(project / "board"),
                               "--cluster", "local", "--workers", "2"])
        yield code, project / "board", marks


@pytest.mark.slow
def test_a_cell_whose_worker_dies_runs_again_and_resumes_from_its_checkpoint(faulty_grid):
    _, board, marks = faulty_grid
    runs = pd.read_csv(board / "runs.csv").set_index("method")
    assert (marks / "killed").exists()
    assert runs.loc["killed", "attempts"] == 2 and pd.isna(runs.loc["killed", "error"])
    assert runs.loc["killed", "model.roc_auc"] > 0 and runs.loc["random", "attempts"] == 1
    # Epoch 0 was trained once: the second attempt, in another process, resumed after it from the checkpoint.
    trained = [line.split() for line in (marks / "epochs").read_text().splitlines()]
    assert [epoch for _, epoch in trained] == ["0", "1", "1"] and trained[1][0] != trained[2][0]
    (attempts,) = (board / "runs" / "killed_swat_0" / "attempts").iterdir()  # this grid's
    assert len(attempts.read_text().splitlines()) == 2
    assert "Run again after their worker was lost: `killed_swat` seed 0 (2 attempts)." in \
        (board / "leaderboard.md").read_text()


@pytest.mark.slow
def test_a_failing_cell_is_reported_and_the_others_finish(faulty_grid):
    code, board, _ = faulty_grid
    assert code == 1
    runs = pd.read_csv(board / "runs.csv").set_index("method")
    assert runs.loc["broken", "error"] == "ValueError: this detector cannot be fitted"
    assert runs.loc["broken", "attempts"] == 1 and pd.isna(runs.loc["broken", "model.f1"])
    assert runs.loc[["random", "killed"], "error"].isna().all()
    leaderboard = pd.read_csv(board / "leaderboard.csv", index_col=["dataset", "method"])
    assert list(leaderboard.index) == [("swat", "random"), ("swat", "killed"), ("swat", "random_control")]
    text = (board / "leaderboard.md").read_text()
    assert "Failed, left out of the leaderboard (runs.csv has the errors): `broken_swat` seed 0: ValueError" in text


@pytest.mark.slow
def test_per_entity_tasks_of_a_declared_dataset_merge_into_its_mean(project):
    write_server_folder(project / "servers")
    (project / "conf" / "local" / "parameters.yml").write_text(yaml.safe_dump({"datasets": {"fleet": {
        "source": {"train": "servers", "split": {"fraction": 0.5}, "label": "anomaly", "exclude": ["db-*"]},
        "windowing": {"window": 8}}}}))
    assert benchmark.main(["--methods", "pca", "--datasets", "fleet", "--seeds", "0", "--output",
                           str(project / "board"), "--cluster", "local", "--workers", "2", "--per-entity"]) == 0
    (run,) = pd.read_csv(project / "board" / "runs.csv").to_dict(orient="records")
    entities = pd.read_csv(project / "board" / "entities.csv")
    model = entities[entities["method"] == "pca"].set_index("entity")
    assert list(model.index) == ["web-1", "web-2"]  # one task each; db-1 excluded as the run would
    assert run["model.roc_auc"] == pytest.approx(model["roc_auc"].mean()) and len(run["run_id"].split()) == 2
    for entity in ("web-1", "web-2"):
        raw = pd.read_parquet(next((project / "board" / "runs" / "pca_fleet_0" / entity).rglob("raw_test.parquet")))
        assert set(raw.index.get_level_values("entity")) == {entity}


class _Scheduler:
    address = "tcp://127.0.0.1:8786"


class _Client:
    """What the GPU check asks of a Dask client: the workers and their resources."""

    scheduler = _Scheduler()

    def __init__(self, *resources: dict):
        self.workers = {f"tcp://127.0.0.1:{i}": {"resources": r} for i, r in enumerate(resources)}

    def scheduler_info(self) -> dict:
        return {"workers": self.workers}


def test_gpu_tasks_need_a_worker_with_the_gpu_resource():
    check_resources(_Client({"GPU": 1}, {}), ClusterOptions(gpu_per_task=1))
    check_resources(_Client({}), ClusterOptions())
    with pytest.raises(RuntimeError, match="no worker of tcp://127.0.0.1:8786 has that much of resource GPU"):
        check_resources(_Client({}, {"GPU": 0.5}), ClusterOptions(gpu_per_task=1))
