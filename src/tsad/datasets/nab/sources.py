"""The Kedro dataset of NAB's folder (``conf/base/catalog/raw/nab.yml``), read-only.

It loads one split as an ``EntitySource`` (``tsad.connectors.entities``): a reader per series found, called by the
ingest node for the selected series only.
"""

from __future__ import annotations

from typing import Any

from tsad.connectors.entities import EntitySource
from tsad.datasets.entity_folders import EntityFolderDataset
from tsad.datasets.nab import files


class NabFolderDataset(EntityFolderDataset):
    """NAB's series (``data/<category>/<name>.csv``) labelled from ``labels/combined_windows.json``.

    NAB has no train/test files: both source entries load the whole series and the ingest node cuts each
    in time (``datasets.nab.ingestion.train_fraction``).

    Args:
        root: The NAB folder.
        windows_file: The windows file, relative to ``root``.
    """

    def __init__(self, *, root: str, windows_file: str = files.WINDOWS_FILE, metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        self._windows_file = windows_file

    def load(self) -> EntitySource:
        return files.series_source(self._root, self._windows_file)
