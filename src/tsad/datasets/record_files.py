"""The common part of the Kedro datasets of single source files read as they are distributed (PSM, KDD Cup 99 and
CICIDS2017; each dataset's ``sources`` module holds its subclass).

Each loads the cells of one file (PSM's test split: the data and its label file) through the dataset's Kedro-free
reader (its ``files`` module); the ingest node types them. They are read-only, and a missing file stops the run
with an error that names the file and says where the data comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tsad.core.errors import DataFormatError


class SourceFileDataset(AbstractDataset[None, pd.DataFrame]):
    """A read-only source file; subclasses say how to read it and where the data comes from."""

    hint = ""

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        for path in self._paths():
            if not path.exists():
                raise DataFormatError(f"{path}: file not found. {self.hint}")
        return self._read()

    def _paths(self) -> list[Path]:
        return [self._filepath]

    def _read(self) -> pd.DataFrame:
        raise NotImplementedError

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._filepath} is a source file; tsad never writes over it")

    def _exists(self) -> bool:
        return all(path.exists() for path in self._paths())

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
