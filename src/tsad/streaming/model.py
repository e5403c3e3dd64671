"""The registered model a stream scores with, and the alias it follows.

A stream takes any model URI MLflow resolves (``models:/swat@champion``, ``models:/pca_swat/3``, ``runs:/...``);
with ``models:/<name>@<alias>`` it checks every ``reload_check_s`` seconds which version the alias points at, and
when the alias has moved it loads the new version between two batches of rows. Loading a model unpickles code
from the tracking store (MLflow's pyfunc design): point streams only at a store you trust.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import mlflow

from tsad.streaming.scoring import StreamingError

logger = logging.getLogger(__name__)

_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)$")


def bundle_of(model: Any) -> dict[str, Any]:
    """The model bundle inside a registered tsad model (``mlflow.pyfunc.load_model``'s result)."""
    catalog = model.unwrap_python_model().loaded_catalog
    names = [name for name in catalog.keys() if name.endswith("model_bundle")]
    if len(names) != 1:
        raise StreamingError(f"this model holds no tsad model bundle (its artifacts are {list(catalog.keys())}); "
                             "stream a model registered by a tsad training pipeline")
    return catalog.load(names[0])


class StreamModel:
    """A registered model's bundle, reloaded when the alias it was named by moves."""

    def __init__(self, uri: str, reload_check_s: float = 10.0):
        self.uri, self.reload_check_s = uri, float(reload_check_s)
        match = _ALIAS.match(uri)
        self.name, self.alias = (match["name"], match["alias"]) if match else (None, None)
        self.version: str | None = None
        self._checked = 0.0
        self.bundle = self._load()

    def _resolve(self) -> str:
        """The concrete URI: the alias's current version, or the URI itself."""
        if self.alias is None:
            return self.uri
        version = mlflow.MlflowClient().get_model_version_by_alias(self.name, self.alias).version
        return f"models:/{self.name}/{version}"

    def _load(self) -> dict[str, Any]:
        concrete = self._resolve()
        bundle = bundle_of(mlflow.pyfunc.load_model(concrete))
        self.version, self._checked = concrete, time.monotonic()
        logger.info("streaming with %s (%s)", self.uri, concrete)
        return bundle

    def reload_if_moved(self, now: float | None = None) -> bool:
        """Load the alias's new version if it moved (checked at most every ``reload_check_s``); True if it did."""
        now = time.monotonic() if now is None else now
        if self.alias is None or now - self._checked < self.reload_check_s:
            return False
        self._checked = now
        try:
            concrete = self._resolve()
        except mlflow.exceptions.MlflowException as error:  # a registry hiccup must not stop the stream
            logger.warning("could not resolve %s (%s); scoring on with %s", self.uri, error, self.version)
            return False
        if concrete == self.version:
            return False
        previous = self.version
        self.bundle = self._load()
        logger.warning("%s moved from %s to %s: scoring with the new model from the next row on", self.uri,
                       previous, self.version)
        return True
