"""Every registered pipeline builds, and every persisted dataset it names is declared by a catalog pattern."""

from pathlib import Path

import pytest
from kedro.io import DataCatalog

from tsad import pipeline_registry, settings
from tsad.config import TsadConfigLoader
from tsad.datasets.registry import DATASETS
from tsad.models import registry
from tsad.pipeline_registry import register_pipelines
from tsad.pipelines import compose

CONF = Path(__file__).resolve().parents[1] / "conf"
METHODS = registry.available()  # conf/base/parameters/methods declares each built-in method


@pytest.fixture(scope="module")
def pipelines():
    return register_pipelines()


@pytest.fixture(scope="module")
def catalog():
    loader = TsadConfigLoader(str(CONF), **settings.CONFIG_LOADER_ARGS)
    return DataCatalog.from_config(loader["catalog"])


def test_names(pipelines):
    # nab_paper: NAB under TAnoGAN's protocol (datasets.nab.protocols.paper); <ds>_mgan_paper: under MGAN's;
    # <ds>_zero_label: under the graph flows' "zero known label" protocol
    variants = [*DATASETS, "nab_paper", *(f"{ds}_mgan_paper" for ds in ("swat", "wadi", "kddcup99", "cicids2017")),
                *(f"{ds}_zero_label" for ds in ("swat", "wadi", "psm", "msl", "smd"))]
    expected = {f"{kind}_{ds}" for ds in variants for kind in ("data", "inference", *METHODS)}
    review = {f"{kind}_{ds}" for ds in DATASETS for kind in ("promote", "rollback")}
    assert expected | review | {"__default__"} == set(pipelines)


def test_a_protocol_is_a_namespace_level_with_the_same_catalog_factories(pipelines, catalog):
    """tanogan_nab runs ours in nab / nab.tanogan and TAnoGAN's protocol in nab.paper / nab.tanogan.paper."""
    nodes = pipelines["tanogan_nab"].nodes
    assert {n.namespace for n in nodes} == {"nab", "nab.tanogan", "nab.paper", "nab.tanogan.paper"}
    paper_inputs = {i for n in nodes if n.namespace == "nab.tanogan.paper" for i in n.inputs}
    assert {"nab.paper.windows_train", "params:experiments.tanogan_nab.paper.model"} <= paper_inputs
    assert "nab.source_train" in {i for n in nodes if n.namespace == "nab.paper" for i in n.inputs}  # one source
    assert catalog.get("nab.tanogan.paper.random_control_metrics")._prefix == "random_control.paper"
    assert catalog.get("nab.tanogan.paper.metrics")._prefix == "tanogan.paper"
    assert catalog.get("nab.tanogan.random_control_metrics")._prefix == "random_control"
    assert catalog.get("nab.tanogan.paper.metrics_table").artifact_path == "paper"
    assert catalog.get("nab.tanogan.metrics_table").artifact_path is None


def test_every_dataset_is_declared(pipelines, catalog):
    for name, pipeline in pipelines.items():
        for dataset in pipeline.datasets():
            if dataset.startswith("params:"):
                continue
            assert catalog.get(dataset) is not None, f"{name}: {dataset} matches no catalog entry or pattern"
            assert "DefaultDataset" not in type(catalog.get(dataset)).__name__


def test_model_pipelines_use_their_datasets_windows(pipelines):
    for ds in DATASETS:
        for method in METHODS:
            model_nodes = [n for n in pipelines[f"{method}_{ds}"].nodes if n.namespace == f"{ds}.{method}"]
            inputs = {i for n in model_nodes for i in n.inputs}
            assert {f"{ds}.windows_train", f"{ds}.windows_val", f"{ds}.windows_test"} <= inputs
            assert f"params:experiments.{method}_{ds}.model" in inputs


def test_default_pipeline_never_trains(pipelines):
    assert not any(n.name.endswith("fit_detector") for n in pipelines["__default__"].nodes)


def test_each_pipeline_is_built_on_first_access_and_kept(monkeypatch):
    built = []

    def model_pipeline(method, dataset, protocol=None, graph=False):
        built.append((method, dataset, protocol))
        return compose.model_pipeline(method, dataset, protocol, graph)

    monkeypatch.setattr(pipeline_registry, "model_pipeline", model_pipeline)
    pipelines = register_pipelines()
    assert "tman_swat" in pipelines and "pca_swatt" not in pipelines and not built  # names, nothing built
    assert pipelines["pca_swat"] is pipelines["pca_swat"]
    assert pipelines["__default__"] is pipelines["data_swat"]
    assert built == [("pca", "swat", None)]
