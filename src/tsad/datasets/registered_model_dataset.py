"""Kedro dataset for a model in the MLflow Model Registry, addressed by URI (version or alias)."""

from __future__ import annotations

from typing import Any

import mlflow
from kedro.io import AbstractDataset, DatasetError


class RegisteredModelDataset(AbstractDataset[None, Any]):
    """Loads ``mlflow.pyfunc.load_model(model_uri)``: ``models:/tman_swat/3``, ``models:/tman_swat@champion``
    ``models:/swat@champion`` (the default: what ``promote_swat`` approved) or
    ``models:/tman_swat/latest``. Read-only: models are registered by the training pipelines."""

    def __init__(self, *, model_uri: str, metadata: dict[str, Any] | None = None):
        self._model_uri = model_uri
        self.metadata = metadata

    def load(self) -> Any:
        try:
            return mlflow.pyfunc.load_model(self._model_uri)
        except Exception as error:  # MLflow raises several types for a missing model, version or alias
            raise DatasetError(f"cannot load the registered model {self._model_uri}: {error}. Train one first "
                               "(kedro run --pipelines=<method>_<ds>), promote it to models:/<ds>@champion "
                               "(kedro run --pipelines=promote_<ds> --params=approve=true), or name a version with "
                               "--params=model_uri=models:/<method>_<ds>/<version>; the MLflow UI lists them"
                               ) from error

    def save(self, data: None) -> None:
        raise DatasetError("registered models are written by the training pipelines, not saved to")

    def _describe(self) -> dict[str, Any]:
        return {"model_uri": self._model_uri}
