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
from tsad.pipelines.reporting.pipeline import reporting_template
from tsad.pipelines.scoring.pipeline import scoring_template
from tsad.pipelines.serving.pipeline import (
    batch_inference_template,
    inference_template,
    serving_data_template,
    serving_model_template,
)
from tsad.pipelines.training.pipeline import training_template
from tsad.pipelines.windowing.pipeline import windowing_template

DATA_PARAMETERS = ("cleaning", "scaling", "feature_selection", "windowing")
MODEL_PARAMETERS = ("model", "scoring", "threshold", "evaluation")
MODEL_INPUTS = ("windows_train", "windows_val", "windows_test")


def data_pipeline(dataset: str, spec: DatasetSpec) -> Pipeline:
    """Ingestion to windows for one dataset, in namespace ``dataset``."""
    stages = ingestion_template(spec.ingest, parameters=spec.ingest_parameters, extra_outputs=spec.extra_outputs) + \
        cleaning_template() + feature_selection_template() + windowing_template() + \
        serving_data_template(spec.describe_input)
    names = DATA_PARAMETERS + (("ingestion",) if spec.ingest_parameters else ())
    return Pipeline(stages, namespace=dataset,
                    parameters={f"params:{p}": f"params:data.{dataset}.{p}" for p in names})


def model_pipeline(method: str, dataset: str) -> Pipeline:
    """Training to evaluation of one method on one dataset's windows, in namespace ``dataset.method``."""
    stages = training_template() + scoring_template() + evaluation_template() + reporting_template() + \
        serving_model_template()
    return Pipeline(stages, namespace=f"{dataset}.{method}",
                    inputs={name: f"{dataset}.{name}" for name in (*MODEL_INPUTS, "preprocessing")},
                    parameters={f"params:{p}": f"params:experiments.{method}_{dataset}.{p}"
                                for p in MODEL_PARAMETERS})


def inference_pipeline(method: str, dataset: str) -> Pipeline:
    """What a registered ``<method>_<dataset>`` model runs: raw rows in ``<ds>.model_input`` -> predictions."""
    return Pipeline(inference_template(), namespace=f"{dataset}.{method}",
                    inputs={"model_input": f"{dataset}.model_input"})


def batch_inference_pipeline(dataset: str) -> Pipeline:
    """Score a new file (``<ds>.new_data``) with a registered model (``<ds>.registered_model``)."""
    return Pipeline(batch_inference_template(), namespace=dataset,
                    parameters={"params:inference": f"params:data.{dataset}.inference"})
