"""Project pipelines, for every dataset and every (method, dataset) pair of the experiment grid.

- ``data_<ds>``: ingestion to windows.
- ``<method>_<ds>``: data + training, scoring, evaluation (and, for ``tsad.experiments.PAPER_PROTOCOLS``, the same
  under the method's paper's protocol). Except for the random control, these are
  kedro-mlflow ``PipelineML`` objects: each run logs the inference pipeline (raw rows -> scores and flags)
  as one MLflow pyfunc model with the fitted model bundle, and registers it as ``<method>_<ds>``.
- ``inference_<ds>``: scores a new file with a registered model (``--params=model_uri=models:/tman_swat@champion``).
"""

from __future__ import annotations

from pathlib import Path

from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline import pipeline_ml_factory

import tsad
from tsad.config import declared_sources, project_parameters
from tsad.datasets.registry import DATASETS, declared_datasets
from tsad.experiments import PAPER_PROTOCOLS, experiment_grid
from tsad.pipelines.compose import batch_inference_pipeline, data_pipeline, inference_pipeline, model_pipeline
from tsad.pipelines.window_evaluation.pipeline import window_evaluation_pipeline

NOT_REGISTERED = {"random"}  # the random control is evaluated, never deployed


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    ``__default__`` prepares the simulated SWaT data only, so a bare ``kedro run`` works anywhere and never trains;
    run one experiment at a time (``kedro run --pipelines=tman_swat``) so each MLflow run is one
    (method, dataset) pair.
    """
    # Built-in datasets, and those declared by a datasets.<name>.source block in the run's configuration.
    parameters = project_parameters()
    datasets = DATASETS | declared_datasets(declared_sources(parameters))
    data = {ds: data_pipeline(ds, spec) for ds, spec in datasets.items()}
    pipelines = {f"data_{ds}": pipe for ds, pipe in data.items()}
    pipelines |= {f"inference_{ds}": batch_inference_pipeline(ds) for ds in datasets}
    for method, ds in experiment_grid(datasets, parameters.get("methods") or {}):
        training = data[ds] + model_pipeline(method, ds)
        if datasets[ds].window_metrics:
            training += window_evaluation_pipeline(method, ds)
        paper = PAPER_PROTOCOLS.get((method, ds))
        if paper in datasets:  # the paper's protocol beside ours, in the same MLflow run
            training += data[paper] + model_pipeline(method, paper)
            if datasets[paper].window_metrics:
                training += window_evaluation_pipeline(method, paper)
        if method in NOT_REGISTERED:
            pipelines[f"{method}_{ds}"] = training
            continue
        pipelines[f"{method}_{ds}"] = pipeline_ml_factory(
            training=training, inference=inference_pipeline(method, ds), input_name=f"{ds}.model_input",
            log_model_kwargs={"name": "model", "registered_model_name": f"{method}_{ds}", "signature": "auto",
                              # the model carries tsad's code, so it loads where tsad is not installed
                              "code_paths": [str(Path(tsad.__file__).parent)]})
    # Only the embedded (simulated) SWaT plant: the other datasets need files under data_root.
    pipelines["__default__"] = data["swat"]
    return pipelines
