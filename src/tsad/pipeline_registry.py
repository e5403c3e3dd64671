"""Project pipelines, for every dataset and every (method, dataset) pair of the experiment grid.

- ``data_<ds>``: ingestion to windows.
- ``<method>_<ds>``: data + training, scoring, evaluation (and the same under each evaluation protocol of the dataset
  that lists the method ``beside`` ours, in the same MLflow run). Except for the random control, these are
  kedro-mlflow ``PipelineML`` objects: each run logs the inference pipeline (raw rows -> scores and flags)
  as one MLflow pyfunc model with the fitted model bundle, and registers it as ``<method>_<ds>``.
- ``inference_<ds>``: scores a new file with a registered model (``--params=model_uri=models:/swat@champion``).
- ``promote_<ds>``, ``rollback_<ds>``: the challenger against the champion on the held-out split, the aliases moved
  when the rules pass and ``approve`` is true; the champion moved back (``tsad.review``).
- ``data_<ds>_<protocol>``, ``<method>_<ds>_<protocol>``, ``inference_<ds>_<protocol>``: the same under one of the
  dataset's evaluation protocols (``datasets.<ds>.protocols``: TAnoGAN's on NAB is ``paper``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline import pipeline_ml_factory

import tsad
from tsad.config import declared_sources, project_parameters, protocols
from tsad.datasets.registry import DATASETS, declared_datasets
from tsad.experiments import experiment_grid
from tsad.models import registry
from tsad.pipelines.compose import (
    batch_inference_pipeline,
    data_namespace,
    data_pipeline,
    inference_pipeline,
    model_pipeline,
    window_evaluation_pipeline,
)
from tsad.pipelines.promotion.pipeline import promotion_pipeline, rollback_pipeline

NOT_REGISTERED = {"random"}  # the random control is evaluated, never deployed
# What a registered model needs to load and score (its own code travels in code_paths). Named here, because
# MLflow's inference of them loads the model in a subprocess (about 8 s a run) and misses kedro-mlflow.
MODEL_REQUIREMENTS = ("mlflow", "kedro", "kedro-mlflow", "kedro-datasets", "torch", "numpy", "pandas", "pyarrow",
                      "scikit-learn", "scipy", "cloudpickle")


class LazyPipelines(Mapping[str, Pipeline]):
    """The registered pipelines by name: the names are known up front, each pipeline is built on first access and
    kept, so that ``kedro run --pipelines=pca_swat`` builds (and imports) what pca_swat needs and nothing else;
    iterating or listing them (``kedro registry list``, kedro-viz) builds them all."""

    def __init__(self, builders: Mapping[str, Callable[[], Pipeline]]):
        self._builders = dict(builders)
        self._built: dict[str, Pipeline] = {}

    def __getitem__(self, name: str) -> Pipeline:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


def register_pipelines() -> LazyPipelines:
    """Register the project's pipelines.

    ``__default__`` prepares the simulated SWaT data only, so a bare ``kedro run`` works anywhere and never trains;
    run one experiment at a time (``kedro run --pipelines=tman_swat``) so each MLflow run is one
    (method, dataset) pair.
    """
    # Built-in datasets, and those declared by a datasets.<name>.source block in the run's configuration.
    parameters = project_parameters()
    datasets = DATASETS | declared_datasets(declared_sources(parameters))
    declared = protocols(parameters.get("datasets") or {})
    builders: dict[str, Callable[[], Pipeline]] = {}
    for ds, spec in datasets.items():
        for protocol in (None, *declared.get(ds, {})):
            name = f"{ds}_{protocol}" if protocol else ds
            builders[f"data_{name}"] = partial(data_pipeline, ds, spec, protocol)
            builders[f"inference_{name}"] = partial(batch_inference_pipeline, ds, protocol)
        builders[f"promote_{ds}"] = partial(promotion_pipeline, ds, spec.describe_input)
        builders[f"rollback_{ds}"] = partial(rollback_pipeline, ds)

    def evaluated(method: str, ds: str, protocol: str | None) -> Pipeline:
        graph = learns_graph(method, parameters.get("methods") or {}, parameters.get("datasets") or {}, ds)
        training = data_pipeline(ds, datasets[ds], protocol) + model_pipeline(method, ds, protocol, graph)
        if protocol and declared[ds][protocol].get("window_metrics"):
            training += window_evaluation_pipeline(method, ds, protocol)
        return training

    def experiment(method: str, ds: str) -> Pipeline:
        beside = [p for p, entry in declared.get(ds, {}).items() if method in (entry.get("beside") or [])]
        # The protocols listed beside ours run in the same MLflow run (tanogan_nab logs tanogan.* and tanogan.paper.*).
        training = evaluated(method, ds, None) + sum((evaluated(method, ds, p) for p in beside), Pipeline([]))
        return _tracked(method, ds, None, training)

    def protocol_alone(method: str, ds: str, protocol: str) -> Pipeline:
        return _tracked(method, ds, protocol, evaluated(method, ds, protocol))

    for method, ds in experiment_grid(datasets, parameters.get("methods") or {}):
        builders[f"{method}_{ds}"] = partial(experiment, method, ds)
        for protocol in declared.get(ds, {}):  # each protocol alone: <method>_<ds>_<protocol>
            builders[f"{method}_{ds}_{protocol}"] = partial(protocol_alone, method, ds, protocol)
    # Only the embedded (simulated) SWaT plant: the other datasets need files under data_root.
    builders["__default__"] = lambda: pipelines["data_swat"]
    pipelines = LazyPipelines(builders)
    return pipelines


def learns_graph(method: str, methods: Mapping[str, Any], datasets: Mapping[str, Any], ds: str) -> bool:
    """Whether the detector of ``method`` on ``ds`` learns a sensor graph (``Detector.graph_learned``): its class is
    the ``model.detector`` import path the dataset or the method names, else the built-in ``method``. Imported when
    its pipeline is built (``LazyPipelines``); the config loader imports it for the run anyway."""
    def chosen(config: Any) -> str | None:
        return (((config or {}).get("model") or {}).get("detector")) if isinstance(config, Mapping) else None

    per_dataset = ((datasets.get(ds) or {}).get("methods") or {}).get(method)
    return registry.get(chosen(per_dataset) or chosen(methods.get(method)) or method).graph_learned


def _tracked(method: str, ds: str, protocol: str | None, training: Pipeline) -> Pipeline:
    """The training pipeline as a kedro-mlflow ``PipelineML`` that logs and registers its inference pipeline as
    ``<method>_<ds>[_<protocol>]`` (the random control is not registered)."""
    if method in NOT_REGISTERED:
        return training
    name = f"{method}_{ds}" + (f"_{protocol}" if protocol else "")
    return pipeline_ml_factory(
        training=training, inference=inference_pipeline(method, ds, protocol),
        input_name=f"{data_namespace(ds, protocol)}.model_input",
        log_model_kwargs={"name": "model", "registered_model_name": name, "signature": "auto",
                          # the model carries tsad's code, so it loads where tsad is not installed
                          "code_paths": [str(Path(tsad.__file__).parent)],
                          "pip_requirements": model_requirements(),
                          # what it is, in the MLmodel file (the review hook and the promotion read it)
                          "metadata": {"tsad": {"method": method, "dataset": ds, "protocol": protocol}}})


def model_requirements() -> list[str]:
    """``MODEL_REQUIREMENTS`` pinned to the versions installed here (torch without its local label, ``+cpu``:
    the environment that loads the model picks its own build)."""
    return [f"{name}=={version(name).split('+')[0]}" for name in MODEL_REQUIREMENTS]
