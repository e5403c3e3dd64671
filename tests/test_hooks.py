"""RunOwnOutputsHook: a run reads the files it wrote, not those a run started at the same time wrote after them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kedro.io import DataCatalog
from kedro.pipeline import node, pipeline
from kedro.runner import SequentialRunner

from tsad.hooks import RunOwnOutputsHook

OURS, THEIRS = "2026-01-01T00.00.00.000Z", "2026-01-01T00.00.01.000Z"  # the other run saves a moment later


def versioned(folder: Path, name: str, **entry) -> dict:
    return {"type": "json.JSONDataset", "filepath": str(folder / f"{name}.json"), "versioned": True, **entry}


def run_beside_another(folder: Path, hooks: list) -> dict:
    """A two-node run (``source`` -> ``report`` -> ``checked``, and ``plot``: a kedro-mlflow artifact) that saves
    with version ``OURS``, while another run's newer ``report`` and ``plot`` are already on disk."""
    for name, value in (("report", "theirs"), ("plot", "theirs"), ("source", "input")):
        path = folder / f"{name}.json" / THEIRS / f"{name}.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(value))
    catalog = DataCatalog.from_config({
        "source": versioned(folder, "source"), "report": versioned(folder, "report"),
        "plot": {"type": "tsad.datasets.protocol_names.ProtocolArtifactDataset", "namespace": "swat",
                 "versioned": True, "dataset": {"type": "json.JSONDataset", "filepath": str(folder / "plot.json")}},
    }, save_version=OURS)
    catalog["plot"]._logging_activated = False  # no MLflow run here
    flow = pipeline([node(lambda source: ("ours", "ours"), "source", ["report", "plot"], name="write"),
                     node(lambda report, plot: {"report": report, "plot": plot}, ["report", "plot"], "checked",
                          name="read")])
    for hook in hooks:
        hook.before_pipeline_run(run_params={}, pipeline=flow, catalog=catalog)
    SequentialRunner().run(flow, catalog)
    return {"checked": catalog.load("checked"), "source version": catalog["source"].resolve_load_version(),
            "report after the run": catalog.load("report")}


def test_kedro_alone_reads_the_newest_version_on_disk_another_runs(tmp_path):
    assert run_beside_another(tmp_path, hooks=[])["checked"] == {"report": "theirs", "plot": "theirs"}


def test_with_the_hook_a_run_reads_its_own_outputs_and_the_newest_inputs(tmp_path):
    result = run_beside_another(tmp_path, hooks=[RunOwnOutputsHook()])
    assert result["checked"] == {"report": "ours", "plot": "ours"}
    assert result["report after the run"] == "ours"  # the after_pipeline_run hooks (model card) too
    assert result["source version"] == THEIRS  # a dataset the run only reads keeps Kedro's choice, the newest


@pytest.mark.parametrize(("load_versions", "run_params", "expected"), [
    ({"report": THEIRS}, {}, THEIRS),  # --load-versions
    ({}, {"only_missing_outputs": True}, None),  # the newest, which tells whether the node must run
])
def test_an_explicit_load_version_and_only_missing_outputs_keep_kedros_choice(tmp_path, load_versions, run_params,
                                                                             expected):
    catalog = DataCatalog.from_config({"report": versioned(tmp_path, "report")}, load_versions=load_versions,
                                      save_version=OURS)
    flow = pipeline([node(lambda: "ours", None, "report", name="write")])
    RunOwnOutputsHook().before_pipeline_run(run_params=run_params, pipeline=flow, catalog=catalog)
    assert catalog["report"]._version.load == expected
