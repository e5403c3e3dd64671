"""The Kedro dataset of the UCR archive's folder (``conf/base/catalog/raw/ucr.yml``), read-only.

It loads one split as an ``EntitySource`` (``tsad.connectors.entities``): a reader per series found, called by the
ingest node for the selected series only.
"""

from __future__ import annotations

from typing import Any

from tsad.connectors.entities import EntitySource
from tsad.datasets.entity_folders import EntityFolderDataset
from tsad.datasets.ucr import files


class UcrArchiveDataset(EntityFolderDataset):
    """One split of the UCR anomaly archive: the training prefix or the rest of every series.

    Args:
        root: The ``UCR_Anomaly_FullData`` folder.
        split: ``train`` (rows before ``trainEnd``) or ``test`` (the rest, holding the anomaly).
    """

    def __init__(self, *, root: str, split: str, metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        self._split = split

    def load(self) -> EntitySource:
        return files.archive_source(self._root, self._split)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "split": self._split}
