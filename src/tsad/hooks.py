"""Project hooks around kedro-mlflow's model logging and registration.

kedro-mlflow's ``PipelineML`` logs and registers the model in its own ``after_pipeline_run`` hook. These hooks
run just before it (to give the model an input example: rows of the dataset's raw format) and just after it
(to tag the new registry version with the dataset fingerprint, the git commit and the headline metrics, so
that operations teams can review it in the MLflow UI).
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro_mlflow.pipeline.pipeline_ml import PipelineML

logger = logging.getLogger(__name__)

HEADLINE_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "pa_f1", "oracle_f1")


class ModelInputExampleHook:
    """Hands the pipeline's example input rows to kedro-mlflow before it logs the model."""

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if isinstance(pipeline, PipelineML) and "input_example" not in pipeline.log_model_kwargs:
            pipeline.log_model_kwargs["input_example"] = catalog.load(pipeline.input_name)


class RegisteredVersionTagsHook:
    """Tags the model version the run registered: dataset fingerprint, git commit, headline metrics."""

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if not isinstance(pipeline, PipelineML):
            return
        run = mlflow.last_active_run()
        name = pipeline.log_model_kwargs.get("registered_model_name")
        if run is None or not name:
            return
        client = mlflow.MlflowClient()
        versions = client.search_model_versions(f"name='{name}' and run_id='{run.info.run_id}'")
        dataset = pipeline.input_name.split(".")[0]
        method = name[: -len(dataset) - 1]  # registered as <method>_<dataset>; both may hold underscores
        report = catalog.load(f"{dataset}.cleaning_report")
        tags = {"dataset": dataset, "method": method, "dataset_fingerprint": report.get("fingerprint", "unknown"),
                "git_commit": _git_commit(run_params.get("project_path"))}
        metrics = client.get_run(run.info.run_id).data.metrics
        tags |= {f"metric.{key}": f"{metrics[f'{method}.{key}']:.4f}" for key in HEADLINE_METRICS
                 if f"{method}.{key}" in metrics}
        for version in versions:
            for key, value in tags.items():
                client.set_model_version_tag(name, version.version, key, value)
            logger.info("Registered %s version %s, tagged %s", name, version.version, tags)


def _git_commit(project_path: str | None) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_path or Path.cwd(), capture_output=True,
                             text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_path or Path.cwd(),
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
