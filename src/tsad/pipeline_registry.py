"""Project pipelines: ``data_<dataset>`` and ``<method>_<dataset>`` for every entry of the experiment grid."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from tsad.experiments import DATASETS, EXPERIMENTS
from tsad.pipelines.compose import data_pipeline, model_pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    ``__default__`` holds the data pipelines only, so a bare ``kedro run`` prepares data and never trains;
    run one experiment at a time (``kedro run --pipelines=pca_swat``) so each MLflow run is one
    (method, dataset) pair.
    """
    data = {ds: data_pipeline(ds, spec) for ds, spec in DATASETS.items()}
    pipelines = {f"data_{ds}": pipe for ds, pipe in data.items()}
    for method, ds in EXPERIMENTS:
        pipelines[f"{method}_{ds}"] = data[ds] + model_pipeline(method, ds)
    pipelines["__default__"] = sum(data.values(), Pipeline([]))
    return pipelines
