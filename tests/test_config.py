"""The parameters resolve into complete settings for every dataset and (method, dataset) pair."""

import shutil
from pathlib import Path

import click
import pytest
import yaml
from kedro.framework.cli.project import run as kedro_run

from tsad import settings
from tsad.config import ParameterError, TsadConfigLoader, experiment_parameters
from tsad.datasets.registry import DATASETS
from tsad.models import registry

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture(scope="module")
def parameters():
    loader = TsadConfigLoader(str(CONF), **settings.CONFIG_LOADER_ARGS)
    return loader["parameters"]


def test_every_dataset_and_experiment_is_resolved(parameters):
    for ds, spec in DATASETS.items():
        ingestion = {"ingestion"} if spec.ingest_parameters else set()  # entity subset etc. (multi-entity data)
        expected = {"cleaning", "scaling", "feature_selection", "windowing", "inference"} | ingestion
        assert expected <= set(parameters["data"][ds])
    assert set(parameters["methods"]) == set(registry.available())
    for method, ds in ((m, ds) for m in parameters["methods"] for ds in DATASETS):
        resolved = parameters["experiments"][f"{method}_{ds}"]
        assert resolved["model"]["method"] == method
        assert {"model", "scoring", "threshold"} <= set(resolved)


def test_defaults_are_written_once_and_overridden_per_dataset(parameters):
    assert parameters["data"]["swat"]["windowing"]["window"] == 12
    assert parameters["data"]["swat"]["cleaning"] == parameters["dataset_defaults"]["cleaning"] | {
        "constant_evidence": ["MV*", "P[0-9]*", "UV*"]}  # SWaT's actuators, named
    assert parameters["experiments"]["pca_swat"]["threshold"] == parameters["experiment_defaults"]["threshold"]


def test_method_overrides_per_dataset_merge_deeply():
    out = experiment_parameters({"threshold": {"strategy": "quantile", "q": 0.9}},
                                {"pca": {"model": {"n_components": 0.9}}},
                                {"x": {"methods": {"pca": {"model": {"n_components": 3}}}}})
    assert out["pca_x"]["threshold"] == {"strategy": "quantile", "q": 0.9}
    assert out["pca_x"]["model"] == registry.build({"method": "pca", "n_components": 3}).config.__dict__
    with pytest.raises(ValueError, match="unknown method"):
        experiment_parameters({}, {"pca": {}}, {"x": {"methods": {"pcaa": {}}}})


def test_model_parameters_are_completed_from_the_method_and_checked():
    out = experiment_parameters({}, {"tman": {"model": {"epochs": 3}}}, {"x": {}})["tman_x"]["model"]
    assert out["epochs"] == 3 and out["backbone"] == "dense"  # the rest from TmanConfig
    assert out["checkpoint_dir"] == "data/06_models/x/tman/checkpoints"  # one folder per experiment
    with pytest.raises(ParameterError, match=r"experiments\.tman_x\.model: unknown parameter\(s\) \['epoch'\].*"
                                             r"datasets\.x\.methods\.tman\.model"):
        experiment_parameters({}, {"tman": {}}, {"x": {"methods": {"tman": {"model": {"epoch": 3}}}}})
    with pytest.raises(ParameterError, match=r"experiments\.tman_x\.model\.epochs: expected int, got str 'ten'"):
        experiment_parameters({}, {"tman": {"model": {"epochs": "ten"}}}, {"x": {}})


def test_method_files_hold_no_code_default():
    """Each default is written once: a method's parameters file sets only what differs from its config class."""

    for path in (CONF / "base" / "parameters" / "methods").glob("*.yml"):
        for method, block in yaml.safe_load(path.read_text())["methods"].items():
            defaults = registry.get(method).config_class(method=method).__dict__
            same = [k for k, v in (block.get("model") or {}).items() if defaults.get(k) == v]
            assert not same, f"{path.name}: {same} repeat {method}'s code defaults"


def test_local_overrides_merge_key_by_key(tmp_path):
    shutil.copytree(CONF / "base", tmp_path / "base")
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "parameters.yml").write_text("datasets:\n  swat:\n    windowing:\n      window: 30\n")
    parameters = TsadConfigLoader(str(tmp_path), **settings.CONFIG_LOADER_ARGS)["parameters"]
    assert parameters["data"]["swat"]["windowing"]["window"] == 30
    assert parameters["data"]["swat"]["inference"]["ignore_columns"] == ["Normal/Attack"]  # the rest is kept
    assert len(parameters["datasets"]) > 1


def test_another_threshold_strategy_replaces_the_default_options():
    defaults = {"threshold": {"strategy": "quantile", "q": 0.995, "persistence": 2}}
    out = experiment_parameters(defaults, {"pca": {"threshold": {"strategy": "k_sigma", "k": 4}}, "random": {}},
                                {"x": {"methods": {"random": {"threshold": {"q": 0.9}}}}})
    assert out["pca_x"]["threshold"] == {"strategy": "k_sigma", "k": 4, "persistence": 2}
    assert out["random_x"]["threshold"] == {"strategy": "quantile", "q": 0.9, "persistence": 2}


@pytest.mark.parametrize(("override", "message"), [
    ("datasets:\n  swat:\n    windowing:\n      windw: 30\n",
     r"data\.swat\.windowing: unknown parameter\(s\) \['windw'\]"),
    ("datasets:\n  swat:\n    cleaning:\n      nan_policy: skip\n", r"data\.swat\.cleaning\.nan_policy: expected"),
    ("methods:\n  pca:\n    scoring:\n      aggregation: median\n", r"experiments\.pca_\w+\.scoring\.aggregation"),
    ("methods:\n  pca:\n    threshold:\n      qq: 0.9\n",
     r"experiments\.pca_\w+: threshold strategy 'quantile' has no option"),
    ("experiment_defaults:\n  evaluation:\n    vus: {windw: 100}\n", r"experiments\.\w+: .*evaluation\.vus"),
])
def test_every_stage_block_is_checked_when_the_configuration_loads(tmp_path, override, message):
    shutil.copytree(CONF / "base", tmp_path / "base")
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "parameters.yml").write_text(override)
    with pytest.raises(ParameterError, match=message):
        TsadConfigLoader(str(tmp_path), **settings.CONFIG_LOADER_ARGS)["parameters"]


@pytest.mark.parametrize(("options", "expected"), [
    ({"pipelines": ["pca_swat"]}, {"pca_swat"}),
    ({"pipelines": ["tanogan_nab", "knn_swat_mgan_paper"]}, {"tanogan_nab", "knn_swat"}),
    ({"pipelines": [], "pipeline": None}, set()),  # __default__ prepares data
])
def test_kedro_run_computes_the_experiments_of_its_pipelines(project, options, expected):
    loader = TsadConfigLoader(str(project / "conf"), **settings.CONFIG_LOADER_ARGS)
    with click.Context(kedro_run, info_name="run") as context:
        context.params = options
        assert set(loader["parameters"]["experiments"]) == expected
    assert len(loader["parameters"]["experiments"]) == len(registry.available()) * len(DATASETS)  # elsewhere, all
