"""Kedro dataset for detector checkpoints: plain dicts saved with torch.save, loaded with weights_only=True."""

from __future__ import annotations

import glob
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version


class DetectorCheckpointDataset(AbstractVersionedDataset[dict, dict]):
    """A detector's ``state()`` dict as a ``.pt`` file (versioned like any Kedro dataset).

    Loading uses ``torch.load(weights_only=True)``: only tensors and plain containers are accepted, so a
    checkpoint cannot execute code.
    """

    def __init__(self, *, filepath: str, version: Version | None = None, metadata: dict[str, Any] | None = None):
        super().__init__(filepath=PurePosixPath(filepath), version=version,
                         exists_function=lambda p: Path(p).exists(), glob_function=glob.glob)
        self.metadata = metadata

    def load(self) -> dict:
        import torch  # noqa: PLC0415 - torch on first use: building the catalog must not import it

        path = Path(str(self._get_load_path()))
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError as error:
            raise DatasetError(f"no detector checkpoint at {path}; run the training pipeline first") from error

    def save(self, data: dict) -> None:
        import torch  # noqa: PLC0415 - torch on first use: building the catalog must not import it

        path = Path(str(self._get_save_path()))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(data, tmp)
        tmp.replace(path)

    def _exists(self) -> bool:
        try:
            return Path(str(self._get_load_path())).exists()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}



class RunModelBundleDataset(DetectorCheckpointDataset):
    """A model bundle written under the run's own version, ``<filepath>/<save version>/<name>``, like a versioned
    dataset's file, but always read from there.

    kedro-mlflow logs the file at the dataset's ``_filepath`` into the registered model (and points ``_filepath``
    at the model's copy when it loads one), so ``_filepath`` must be one file: this run's, never the newest on disk.
    """

    def __init__(self, *, filepath: str, version: Version | None = None, metadata: dict[str, Any] | None = None):
        if version is not None and version.save:
            filepath = f"{filepath}/{version.save}/{PurePosixPath(filepath).name}"
        super().__init__(filepath=filepath, version=None, metadata=metadata)
