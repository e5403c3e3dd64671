"""Project hooks: a run reads its own outputs, and hooks around kedro-mlflow's model logging and registration.

kedro-mlflow's ``PipelineML`` logs and registers the model in its own ``after_pipeline_run`` hook. These hooks
run just before it (to give the model an input example: rows of the dataset's raw format) and just after it
(to tag the new registry version, write its model card and make it the ``challenger``, so that operations teams
can review it in the MLflow UI and promote it with ``promote_<ds>``).
"""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.io.core import AbstractVersionedDataset, Version
from kedro_mlflow.pipeline.pipeline_ml import PipelineML

from tsad.review import CHALLENGER
from tsad.review.model_card import hardware, model_card, non_default_parameters

logger = logging.getLogger(__name__)

HEADLINE_METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "pa_f1", "oracle_f1")


class RunOwnOutputsHook:
    """Pins the load version of every versioned dataset the run writes to the run's save version.

    Kedro loads the newest version on disk of a versioned dataset that has no load version, so a node reading what
    an earlier node of the same run wrote would read another run's file, saved in between by a run started at the
    same time in the same ``run_root``. The datasets the pipeline only reads (sources, ``--load-versions``, the
    outputs of an earlier run that ``--from-nodes`` starts from, the registered model) keep Kedro's choice, and so
    does a run with ``--only-missing-outputs``, whose nodes read what earlier runs left on disk.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if run_params.get("only_missing_outputs"):  # pinned, every output would look missing and run again
            return
        for name in pipeline.all_outputs():
            dataset = catalog.get(name)  # materialises a factory's entry, so the pinned one is the one the run uses
            # kedro-mlflow's artifact datasets are subclasses of the dataset they wrap, and carry its _version
            version = getattr(dataset, "_version", None) if isinstance(dataset, AbstractVersionedDataset) else None
            if version is not None and version.save and version.load is None:
                dataset._version = Version(version.save, version.save)


class ModelInputExampleHook:
    """Hands the pipeline's example input rows to kedro-mlflow before it logs the model."""

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if isinstance(pipeline, PipelineML) and "input_example" not in pipeline.log_model_kwargs:
            pipeline.log_model_kwargs["input_example"] = catalog.load(pipeline.input_name)


class RegisteredVersionReviewHook:
    """Readies the version the run registered for review: tags (dataset fingerprint, git commit, headline metrics,
    the parameters the run changed), the model card as its description, the alias ``challenger`` and the tag
    ``validation_status: pending`` (``tsad.review``)."""

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
        identity = pipeline.log_model_kwargs["metadata"]["tsad"]  # set by tsad.pipeline_registry
        dataset, method, protocol = identity["dataset"], identity["method"], identity["protocol"]
        prefix = f"{method}.{protocol}" if protocol else method
        data_space = pipeline.input_name.removesuffix(".model_input")
        report = catalog.load(f"{data_space}.cleaning_report")
        overrides = dict(run_params.get("runtime_params") or {})
        tags = {"dataset": dataset, "method": method, "dataset_fingerprint": report.get("fingerprint", "unknown"),
                "git_commit": _git_commit(run_params.get("project_path")), "validation_status": "pending",
                "overrides": json.dumps(overrides, sort_keys=True, default=str) if overrides else "none"}
        if protocol:
            tags["protocol"] = protocol
        run = client.get_run(run.info.run_id)
        metrics = run.data.metrics
        tags |= {f"metric.{key}": f"{metrics[f'{prefix}.{key}']:.4f}" for key in HEADLINE_METRICS
                 if f"{prefix}.{key}" in metrics}
        for version in versions:
            for key, value in tags.items():
                client.set_model_version_tag(name, version.version, key, value)
            facts = card_facts(catalog, run, name, version.version, identity=identity, data_space=data_space,
                               report=report, tags=tags, overrides=overrides)
            client.update_model_version(name, version.version, description=model_card(facts))
            client.set_registered_model_alias(name, CHALLENGER, version.version)
            logger.info("Registered %s version %s as %s (validation pending), tagged %s", name, version.version,
                        CHALLENGER, tags)


def card_facts(catalog: Any, run: Any, name: str, version: str, *, identity: dict[str, Any], data_space: str,
               report: dict[str, Any], tags: dict[str, str], overrides: dict[str, Any]) -> dict[str, Any]:
    """What the model card of a version says, from the run's catalog, parameters and MLflow run."""
    dataset, method, protocol = identity["dataset"], identity["method"], identity["protocol"]
    prefix = f"{method}.{protocol}" if protocol else method
    control_prefix = f"random_control.{protocol}" if protocol else "random_control"
    parameters = catalog.load("parameters")
    experiment = parameters["experiments"][f"{method}_{dataset}"]
    experiment = experiment[protocol] if protocol else experiment
    grades = catalog.load(f"{data_space}.gra_grades").groupby("feature", sort=False)["grade"].mean()
    selected = catalog.load(f"{data_space}.selected_features")
    metrics = run.data.metrics
    client = mlflow.MlflowClient()
    folders = [a.path for a in client.list_artifacts(run.info.run_id) if a.is_dir] + [""]
    plots = sorted({f.path for folder in folders for f in client.list_artifacts(run.info.run_id, folder)
                    if f.path.endswith(".png")})
    source = type(_dataset(catalog, f"{dataset}.source_test")).__name__
    limits = [f"Trained and tested on tsad's simulated {dataset} plant ({source}), not on plant data."] \
        if source.startswith("Simulated") else []
    if overrides:
        limits.append("The run changed parameters from the project's configuration (Provenance): a quick "
                      "experiment, not necessarily a candidate for service.")
    return {"name": name, "version": version, "dataset": dataset, "method": method, "protocol": protocol,
            "run_id": run.info.run_id, "run_link": f"#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}",
            "fingerprint": report.get("fingerprint", "unknown"), "periods": report.get("periods"),
            "rows_train": report.get("rows_train"), "dropped_constant": report.get("dropped_constant"),
            "constant_evidence": report.get("constant_evidence"),
            "windowing": parameters["data"][dataset][protocol]["windowing"] if protocol
            else parameters["data"][dataset]["windowing"],
            "channels": [(c, float(grades[c]) if c in grades.index else None) for c in selected],
            "model_parameters": non_default_parameters(experiment["model"]),
            "threshold": catalog.load(f"{dataset}.{prefix}.threshold"),
            "metrics": {k.removeprefix(f"{prefix}."): v for k, v in metrics.items() if k.startswith(f"{prefix}.")},
            "random_control": {k.removeprefix(f"{control_prefix}."): v for k, v in metrics.items()
                               if k.startswith(f"{control_prefix}.")},
            "training_seconds": ((run.info.end_time or run.info.start_time) - run.info.start_time) / 1000,
            "started": datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC).isoformat(timespec="seconds"),
            "hardware": hardware(), "git_commit": tags["git_commit"], "overrides": overrides, "plots": plots,
            "limits": limits}


def _dataset(catalog: Any, name: str) -> Any:
    try:
        return catalog.get(name)
    except Exception:  # noqa: BLE001 - a dataset without that source entry has no limit to report
        return None


def _git_commit(project_path: str | None) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_path or Path.cwd(), capture_output=True,
                             text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_path or Path.cwd(),
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
