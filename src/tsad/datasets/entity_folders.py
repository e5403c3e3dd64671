"""The common part of the Kedro datasets of multi-entity sources: a folder of per-entity files as distributed
(SMD, ASD, MSL, SMAP, NAB, UCR; each dataset's ``sources`` module holds its subclass).

Each loads one split as an ``EntitySource`` (``tsad.connectors.entities``): the entities found and a reader
per entity, called by the ingest node for the selected entities only (like ``PartitionedDataset``, so a
subset reads only its own files). The readers keep each file's path in ``attrs["source"]`` for errors.
The folders are read-only: tsad never writes into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from tsad.connectors.entities import EntitySource


class EntityFolderDataset(AbstractDataset[None, EntitySource]):
    """A read-only folder of per-entity source files; subclasses load one split (``load``)."""

    def __init__(self, *, root: str, metadata: dict[str, Any] | None = None):
        self._root = Path(root)
        self.metadata = metadata

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._root} holds source files; tsad never writes over them")

    def _exists(self) -> bool:
        return self._root.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"root": str(self._root)}
