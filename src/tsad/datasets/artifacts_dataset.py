"""Kedro dataset for what a detector learnt beyond its weights (``Detector.artifacts``): tables by name."""

from __future__ import annotations

import glob
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
import pandas as pd
from kedro.io.core import AbstractVersionedDataset, DatasetError, Version


class DetectorArtifactsDataset(AbstractVersionedDataset[dict, dict]):
    """``{name: DataFrame}`` as ``<name>.parquet`` files in a versioned folder, each logged to the active MLflow run
    under ``artifact_path`` as well. Names may hold ``/`` (``<entity>/<name>`` on multi-entity data). A detector
    without artifacts leaves an empty version folder (Kedro checks that each saved version exists)."""

    def __init__(self, *, filepath: str, artifact_path: str = "detector_artifacts", version: Version | None = None,
                 metadata: dict[str, Any] | None = None):
        super().__init__(filepath=PurePosixPath(filepath), version=version,
                         exists_function=lambda p: Path(p).exists(), glob_function=glob.glob)
        self._artifact_path = artifact_path
        self.metadata = metadata

    def load(self) -> dict[str, pd.DataFrame]:
        folder = Path(str(self._get_load_path()))
        if not folder.is_dir():
            raise DatasetError(f"no detector artifacts at {folder}")
        return {str(path.relative_to(folder).with_suffix("")): pd.read_parquet(path)
                for path in sorted(folder.rglob("*.parquet"))}

    def save(self, data: dict[str, pd.DataFrame]) -> None:
        folder = Path(str(self._get_save_path()))
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in data.items():
            path = folder / f"{name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            table.to_parquet(path)
        if data and mlflow.active_run() is not None:
            mlflow.log_artifacts(str(folder), self._artifact_path)

    def _exists(self) -> bool:
        try:
            return Path(str(self._get_load_path())).is_dir()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "artifact_path": self._artifact_path, "version": self._version}
