"""Model review end to end, in-process on the tiny simulated plant: model cards, challenger aliases, promotion with
and without approval, a challenger refused for trailing the random control, rollback."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
import yaml
from conftest import declare_plugin_method, latest_version, set_model_options
from kedro.framework.session import KedroSession

pytestmark = pytest.mark.slow

INVERTED_DETECTOR = '''
import dataclasses

import numpy as np

from tsad.models.base import Detector, DetectorConfig


@dataclasses.dataclass
class InvertedConfig(DetectorConfig):
    pass


class InvertedDistance(Detector):
    """Minus the distance of a window to the training median: the most unusual windows score lowest."""

    config_class = InvertedConfig

    def _fit(self, windows_train, windows_val):
        self.median_ = np.median(windows_train.reshape(-1, windows_train.shape[2]), axis=0)

    def _score_windows(self, windows):
        return -np.abs(windows - self.median_).mean(axis=(1, 2))

    def _state_tensors(self):
        import torch
        return {"median": torch.from_numpy(self.median_)}

    def _load_state_tensors(self, tensors):
        self.median_ = tensors["median"].numpy()
'''


def run(project: Path, pipeline: str, **params) -> None:
    with KedroSession.create(project_path=project, runtime_params={"swat_simulator_preset": "tiny"} | params
                             ) as session:
        session.run(pipeline_names=[pipeline])


def latest_report(project: Path) -> str:
    return latest_version(project / "data/08_reporting/swat/promotion/report.md").read_text()


def aliases(client: mlflow.MlflowClient, name: str) -> dict[str, str]:
    try:
        return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}
    except mlflow.exceptions.MlflowException:
        return {}


def test_cards_challengers_promotion_refusal_and_rollback(project, tmp_path, monkeypatch):
    set_model_options(project, tman={"epochs": 2, "hidden_size": 16, "progress": False})
    local = project / "conf" / "local" / "parameters.yml"
    local.write_text(yaml.safe_dump(yaml.safe_load(local.read_text()) | {"promotion": {"rules": {
        "max_flagged_fraction": 1.0, "margin": -1.0}}}))  # these rules: only the random control can refuse
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")

    run(project, "pca_swat")
    pca = client.get_model_version("pca_swat", "1")
    assert pca.aliases == ["challenger"] and pca.tags["validation_status"] == "pending"
    card = pca.description
    for expected in ("## Known limits", "simulated swat plant", "| FIT101 |", "Threshold: `quantile`", "| roc_auc |",
                     "random control", "oracle_f1 (threshold chosen on test labels", "Git commit", "Window: 12 rows"):
        assert expected in card, expected

    # Without approve: the rules pass, no alias moves.
    run(project, "promote_swat")
    assert aliases(client, "swat") == {}
    assert client.get_model_version("pca_swat", pca.version).tags["validation_status"].startswith("passed")
    assert "PASS" in latest_report(project) and "awaiting approval" in latest_report(project)

    # With approve: the first champion.
    run(project, "promote_swat", approve=True)
    assert aliases(client, "swat") == {"champion": "1"}
    assert client.get_model_version("swat", "1").tags["promoted_from"] == f"pca_swat/{pca.version}"

    # A second method's version becomes the challenger and, approved, the champion; the first is kept one step away.
    run(project, "tman_swat")
    run(project, "promote_swat", approve=True)
    assert aliases(client, "swat") == {"champion": "2", "previous_champion": "1"}
    assert client.get_model_version("swat", "2").tags["promoted_from"] == "tman_swat/1"
    assert client.get_model_version("swat", "1").tags["validation_status"] == "superseded"

    # A challenger worse than chance is refused, with the reason in the report, even when approved.
    declare_plugin_method(project, tmp_path / "plugins", monkeypatch, method="inverted",
                          detector="review_detectors.inverted.InvertedDistance", source=INVERTED_DETECTOR)
    run(project, "inverted_swat")
    run(project, "promote_swat", approve=True)
    assert aliases(client, "swat") == {"champion": "2", "previous_champion": "1"}
    report = latest_report(project)
    assert "FAIL: pr_auc above the random control's" in report and "Refused because" in report
    assert client.get_model_version("inverted_swat", "1").tags["validation_status"] == "rejected"
    decision = json.loads(latest_version(project / "data/08_reporting/swat/promotion/decision.json").read_text())
    assert decision["outcome"]["promoted"] is False and decision["challenger"]["name"] == "inverted_swat"

    # Rollback: the old champion is back, and the rolled-back one is a step away.
    run(project, "rollback_swat")
    assert aliases(client, "swat") == {"champion": "1", "previous_champion": "2"}
    mlflow.set_tracking_uri(f"sqlite:///{project}/mlflow.db")
    assert mlflow.pyfunc.load_model("models:/swat@champion").metadata.metadata["tsad"]["method"] == "pca"
