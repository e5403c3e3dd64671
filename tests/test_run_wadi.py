"""``pca_wadi`` through a Kedro session, in-process, in a temporary copy of the project, on the simulated
network's "tiny" preset; and a bad real-format WADI file that stops ingestion with nothing written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import mlflow_run
from kedro.framework.session import KedroSession

from tsad.core.errors import DataFormatError
from tsad.datasets.wadi.files import WADI_CHANNELS, write_wadi_csv
from tsad.simulators.wadi_plant import simulate_preset, wadi_preamble

pytestmark = pytest.mark.slow


def run(project: Path, pipeline: str) -> None:
    with KedroSession.create(project_path=project, runtime_params={"wadi_simulator_preset": "tiny"}) as session:
        session.run(pipeline_names=[pipeline])


def versions(folder: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(folder)): sorted(v.name for v in p.iterdir())
            for p in folder.rglob("*.parquet") if p.is_dir()}


def test_pca_wadi_runs_on_the_simulated_network(project):
    run(project, "pca_wadi")
    metrics = mlflow_run(project, "pca_wadi").data.metrics
    for key in ("f1", "pa_f1", "roc_auc", "pr_auc", "oracle_f1"):
        assert f"pca.{key}" in metrics
    assert metrics["pca.roc_auc"] > 0.6, metrics["pca.roc_auc"]
    simulated = project / "data" / "01_raw" / "wadi" / "simulated" / "tiny_seed2017"
    assert {p.name for p in simulated.iterdir()} >= {"WADI_14days.csv", "WADI_attackdata.csv", "WADI_attacks.csv",
                                                     "simulation.json"}
    raw_test = pd.read_parquet(next((project / "data/01_raw/wadi/raw_test.parquet").rglob("*.parquet")))
    assert list(raw_test.columns) == [*WADI_CHANNELS, "label"] and raw_test.index.name == "timestamp"
    assert 0 < raw_test["label"].mean() < 0.2
    stored = versions(project / "data")
    assert len(stored["07_model_output/wadi/pca/scores_test.parquet"]) == 1


def test_a_bad_wadi_file_writes_nothing(project):
    network = simulate_preset("tiny", seed=3)
    normal, attack = project / "real" / "WADI_14days.csv", project / "real" / "WADI_attackdata.csv"
    write_wadi_csv(network.normal, normal, "a1_normal", wadi_preamble({"preset": "tiny"}))
    write_wadi_csv(network.attack, attack, "a1_attack")
    table = project / "real" / "attacks.csv"
    network.attacks.to_csv(table, index=False)
    (project / "conf" / "local" / "catalog.yml").write_text(
        f"wadi.source_train: {{type: tsad.datasets.WadiExportDataset, filepath: {normal}}}\n"
        f"wadi.source_test: {{type: tsad.datasets.WadiExportDataset, filepath: {attack}, "
        f"attacks_filepath: {table}}}\n")
    run(project, "data_wadi")
    before = versions(project / "data")
    assert len(before["01_raw/wadi/raw_test.parquet"]) == 1
    lines = table.read_text().splitlines()
    lines[2] = lines[2].replace("2017-10-09", "2017-13-09", 1)  # attack 2 starts on a day that does not exist
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"{table}: line 3: cannot parse the attack time"):
        run(project, "data_wadi")
    assert versions(project / "data") == before
