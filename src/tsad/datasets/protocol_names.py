"""MLflow names of the outputs evaluated under a protocol: one set of catalog factories for every protocol.

A model pipeline runs in namespace ``<ds>.<method>`` under our protocol and ``<ds>.<method>.<protocol>`` under another
(``tsad.pipelines.compose``), and a data pipeline in ``<ds>`` or ``<ds>.<protocol>``, so a factory such as
``"{ds}.{m}.metrics"`` reads ``m = "tanogan.paper"``. What follows the first dot of such a namespace is the protocol:
its metrics get it after their prefix (``random_control.paper.f1``) and its files go under it in the MLflow run
(``paper/metrics_table.csv``), beside ours at the run's root.
"""

from __future__ import annotations

from typing import Any

from kedro.io.core import Version
from kedro_mlflow.io.artifacts import MlflowArtifactDataset


def protocol_of(namespace: str) -> str | None:
    """``paper`` for ``tanogan.paper`` or ``nab.paper``; None for ``tanogan`` or ``nab`` (ours)."""
    return namespace.partition(".")[2] or None


def with_protocol(prefix: str, namespace: str | None) -> str:
    """A metric prefix with the protocol of ``namespace`` after it: ``random_control`` -> ``random_control.paper``."""
    protocol = protocol_of(namespace or "")
    return f"{prefix}.{protocol}" if protocol else prefix


class ProtocolArtifactDataset(MlflowArtifactDataset):
    """kedro-mlflow's ``MlflowArtifactDataset`` around ``dataset``, logged at the run's root under our protocol and
    under ``<protocol>/`` under another (``namespace``: the ``{ds}`` or ``{m}`` of the catalog factory).

    ``versioned: true`` versions the local file with the run's save version, like every other dataset (the
    wrapper alone would give the inner dataset a version of its own, which Kedro's catalog refuses).
    """

    def __new__(cls, dataset: str | dict, namespace: str, metadata: dict[str, Any] | None = None,
                version: Version | None = None) -> Any:
        if version is not None:
            dataset = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
            dataset["versioned"] = True
        # MlflowArtifactDataset.__new__ returns a wrapper of the inner dataset's class, not an instance of cls.
        wrapped = super().__new__(cls, dataset=dataset, artifact_path=protocol_of(namespace), metadata=metadata)
        if version is not None:
            wrapped._version = version  # the catalog's save version, so every file of the run has the same
        return wrapped
