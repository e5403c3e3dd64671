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

