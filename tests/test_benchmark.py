"""The benchmark grid: leaderboard aggregation, and a small grid run in-process in a temporary project copy."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from tsad import benchmark


def test_leaderboard_means_and_spreads_over_seeds():
    runs = pd.DataFrame({
        "dataset": ["d"] * 4, "method": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
        "fit_s": [1.0, 3.0, 0.5, 0.5], "score_s": [0.1, 0.3, 0.2, 0.2], "peak_mem_mib": [10.0, 20.0, 1.0, 1.0],
        "model.f1": [0.2, 0.4, 0.1, 0.1], "random_control.f1": [0.05, 0.07, 0.05, 0.07],
    })
    board = benchmark.leaderboard(runs)
    assert list(board.index) == [("d", "a"), ("d", "b"), ("d", "random_control")]
    assert board.loc[("d", "a"), "f1_mean"] == pytest.approx(0.3)
    assert board.loc[("d", "a"), "f1_std"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert board.loc[("d", "a"), "fit_s_mean"] == 2.0 and board.loc[("d", "random_control"), "runs"] == 2
    assert board.loc[("d", "random_control"), "f1_mean"] == pytest.approx(0.06)  # one control per seed
    text = benchmark.leaderboard_markdown(board)
    assert "| `f1` | 0.3 ± 0.14 | 0.1 ± 0 | 0.06 ± 0.014 |" in text


def test_seed_parameters_reach_model_and_control():
    params = benchmark.seed_parameters("pca", "swat", 7)
    assert params["datasets"]["swat"]["methods"]["pca"]["model"]["seed"] == 7
    assert params["experiment_defaults"]["evaluation"]["random_control"]["seed"] == 7


@pytest.mark.slow
def test_grid_runs_each_seed_and_writes_the_leaderboard(project):
    assert benchmark.main(["--methods", "random", "--datasets", "swat", "--seeds", "0", "1",
                           "--params", "swat_simulator_preset=tiny", "--output", str(project / "board")]) == 0
    runs = pd.read_csv(project / "board" / "runs.csv")
    assert len(runs) == 2 and list(runs["seed"]) == [0, 1]
    assert (runs["fit_s"] > 0).all() and (runs["score_s"] > 0).all() and runs["peak_mem_mib"].notna().all()
    assert runs["model.roc_auc"].nunique() == 2  # the seed reached the model
    assert runs["random_control.roc_auc"].nunique() == 2  # and the control
    board = pd.read_csv(project / "board" / "leaderboard.csv", index_col=["dataset", "method"])
    assert list(board.index) == [("swat", "random"), ("swat", "random_control")]
    for metric in ("f1", "pa_f1", "pa_k_auc", "event_f1", "composite_f1", "range_f1", "affiliation_f1", "roc_auc",
                   "pr_auc", "vus_roc", "vus_pr", "oracle_f1", "fit_s", "score_s", "peak_mem_mib"):
        assert {f"{metric}_mean", f"{metric}_std"} <= set(board.columns), metric
    assert board.loc[("swat", "random"), "roc_auc_mean"] == pytest.approx(runs["model.roc_auc"].mean())
    assert "## swat" in (project / "board" / "leaderboard.md").read_text()
    # Each grid run is an MLflow run with the model's and the control's metrics; the leaderboard has its own run.
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("tsad")
    random_runs = client.search_runs([experiment.experiment_id], "attributes.run_name = 'random_swat'")
    assert {r.data.params["experiments.random_swat.model.seed"] for r in random_runs} == {"0", "1"}
    run = client.get_run(runs["run_id"].iloc[0])
    assert "random.f1" in run.data.metrics and "random_control.f1" in run.data.metrics
    assert {"metrics_table.csv", "evaluation_report.md", "pr_curve.png", "channel_contributions.png",
            "score_timeline.png"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
    (leaderboard_run,) = client.search_runs([experiment.experiment_id], "attributes.run_name = 'benchmark'")
    assert {a.path for a in client.list_artifacts(leaderboard_run.info.run_id)} >= {"leaderboard.csv",
                                                                                   "leaderboard.md"}
    assert "swat.random.f1_mean" in leaderboard_run.data.metrics
