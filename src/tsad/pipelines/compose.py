"""Stage templates instantiated per dataset and per (method, dataset) through namespaces.

``data_pipeline("swat")`` runs ingestion -> cleaning -> feature selection -> windowing in namespace ``swat``;
``model_pipeline("pca", "swat")`` runs training -> scoring -> evaluation in namespace ``swat.pca`` on the
dataset's windows, and bundles the model for the registry; ``inference_pipeline`` is what the registered
model runs, and ``batch_inference_pipeline`` scores a new file with a registered model. Parameters come
resolved from ``data.<ds>.*`` and ``experiments.<method>_<ds>.*`` (see ``tsad.config``).
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from tsad.datasets.spec import DatasetSpec
from tsad.pipelines.cleaning.pipeline import cleaning_template
from tsad.pipelines.evaluation.pipeline import evaluation_template
from tsad.pipelines.feature_selection.pipeline import feature_selection_template
from tsad.pipelines.ingestion.pipeline import ingestion_template
from tsad.pipelines.reporting.pipeline import reporting_template, sensor_graph_template
from tsad.pipelines.scoring.pipeline import scoring_template
from tsad.pipelines.serving.pipeline import (
    batch_inference_template,
    inference_template,
    serving_data_template,
    serving_model_template,
)
from tsad.pipelines.training.pipeline import training_template
from tsad.pipelines.window_evaluation.pipeline import window_evaluation_template
from tsad.pipelines.windowing.pipeline import windowing_template

DATA_PARAMETERS = ("ingestion", "cleaning", "scaling", "feature_selection", "windowing")
MODEL_PARAMETERS = ("model", "scoring", "threshold", "evaluation")
MODEL_INPUTS = ("windows_train", "windows_val", "windows_test", "departures_test")


def data_pipeline(dataset: str, spec: DatasetSpec, protocol: str | None = None) -> Pipeline:
    """Ingestion to windows for one dataset, in namespace ``dataset``, or under an evaluation protocol of it in
    namespace ``dataset.protocol`` (the dataset's sources, the protocol's parameters ``data.<ds>.<protocol>``)."""
    stages = ingestion_template(spec.ingest, parameters=spec.ingest_parameters, extra_outputs=spec.extra_outputs) + \
        cleaning_template() + feature_selection_template() + windowing_template() + \
        serving_data_template(spec.describe_input)
    space = data_namespace(dataset, protocol)
    return Pipeline(stages, namespace=space,
                    parameters={f"params:{p}": f"params:data.{space}.{p}" for p in DATA_PARAMETERS},
                    inputs={f"source_{split}": f"{dataset}.source_{split}" for split in ("train", "test")})


def model_pipeline(method: str, dataset: str, protocol: str | None = None, graph: bool = False) -> Pipeline:
    """Training to evaluation of one method on one dataset's windows, in namespace ``dataset.method`` (under a
    protocol: ``dataset.method.protocol``, on the windows of ``dataset.protocol``); ``graph``: the detector learns a
    sensor graph (``Detector.graph_learned``), summarised by the reporting stage."""
    stages = training_template() + scoring_template() + evaluation_template() + reporting_template() + \
        serving_model_template() + (sensor_graph_template() if graph else Pipeline([]))
    data = data_namespace(dataset, protocol)
    return Pipeline(stages, namespace=model_namespace(method, dataset, protocol),
                    inputs={name: f"{data}.{name}" for name in (*MODEL_INPUTS, "preprocessing", "cleaning_report")},
                    parameters={f"params:{p}": f"params:{experiment_key(method, dataset, protocol)}.{p}"
                                for p in MODEL_PARAMETERS})


def window_evaluation_pipeline(method: str, dataset: str, protocol: str | None = None) -> Pipeline:
    """Window-level metrics beside the evaluation stage (``tsad.pipelines.window_evaluation``)."""
    return Pipeline(window_evaluation_template(), namespace=model_namespace(method, dataset, protocol),
                    inputs={"windows_test": f"{data_namespace(dataset, protocol)}.windows_test"})


def inference_pipeline(method: str, dataset: str, protocol: str | None = None) -> Pipeline:
    """What a registered model runs: raw rows in ``<data namespace>.model_input`` -> predictions."""
    return Pipeline(inference_template(), namespace=model_namespace(method, dataset, protocol),
                    inputs={"model_input": f"{data_namespace(dataset, protocol)}.model_input"})


def batch_inference_pipeline(dataset: str, protocol: str | None = None) -> Pipeline:
    """Score a new file (``<data namespace>.new_data``) with a registered model (``<...>.registered_model``)."""
    space = data_namespace(dataset, protocol)
    return Pipeline(batch_inference_template(), namespace=space,
                    parameters={"params:inference": f"params:data.{space}.inference"})


def data_namespace(dataset: str, protocol: str | None) -> str:
    return f"{dataset}.{protocol}" if protocol else dataset


def model_namespace(method: str, dataset: str, protocol: str | None) -> str:
    # The protocol last, so that catalog factories "{ds}.{m}.<name>" read m = "<method>.<protocol>": metric names
    # <method>.<protocol>.*, and one set of factories for every protocol.
    return f"{dataset}.{method}.{protocol}" if protocol else f"{dataset}.{method}"


def experiment_key(method: str, dataset: str, protocol: str | None) -> str:
    return f"experiments.{method}_{dataset}" + (f".{protocol}" if protocol else "")
