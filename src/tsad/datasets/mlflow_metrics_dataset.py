"""MLflow metrics logged in batches.

kedro-mlflow's ``MlflowMetricsHistoryDataset`` logs one metric per call. A multi-entity run logs a dozen metrics
per entity for the model and for the random control (26,000 for UCR's 234 series), which took minutes; this
subclass sends them with ``MlflowClient.log_batch``, 1,000 at a time (MLflow's limit), and keeps everything else:
the prefix, loading, and kedro-mlflow's switch that turns logging off for untracked pipelines.
"""

from __future__ import annotations

import time
from typing import Any

import mlflow
from kedro.io import DatasetError
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from mlflow.entities import Metric

from tsad.datasets.protocol_names import with_protocol

_BATCH = 1000


class BatchedMlflowMetricsDataset(MlflowMetricsHistoryDataset):
    """``{name: {"value", "step"}}`` or ``{name: [{"value", "step"}, ...]}`` logged with ``log_batch``.

    ``namespace`` (a catalog factory's ``{m}``) puts an evaluation protocol after the prefix
    (``tsad.datasets.protocol_names``).
    """

    def __init__(self, *, prefix: str | None = None, namespace: str | None = None, **kwargs: Any):
        super().__init__(prefix=with_protocol(prefix, namespace) if prefix else prefix, **kwargs)

    def _save(self, data: dict) -> None:
        if not self._logging_activated:
            return
        try:
            run_id = self.run_id
        except DatasetError:
            run_id = mlflow.start_run().info.run_id  # what mlflow.log_metric would do without an active run
        stamp = int(time.time() * 1000)
        metrics = [Metric(key, float(value), stamp, int(step))
                   for name, item in data.items() for key, value, step in self._build_args_list_from_metric_item(name,
                                                                                                          item)]
        client = mlflow.MlflowClient()
        for start in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[start:start + _BATCH])
