"""The Kedro dataset of SMD's and ASD's folders (``conf/base/catalog/raw/{smd,asd}.yml``), read-only.

It loads one split as an ``EntitySource`` (``tsad.connectors.entities``): a reader per machine found, called by the
ingest node for the selected machines only.
"""

from __future__ import annotations

from typing import Any

from kedro.io import DatasetError

from tsad.connectors.entities import EntitySource
from tsad.datasets.entity_folders import EntityFolderDataset
from tsad.datasets.smd import files


class SmdFolderDataset(EntityFolderDataset):
    """One split of SMD (or ASD, same layout): ``train/``, ``test/``, ``test_label/``, ``interpretation_label/``.

    Args:
        root: The dataset folder.
        split: ``train`` or ``test`` (the test split adds point labels and per-metric labels).
        variant: ``SMD`` (38 metrics, exclusive interval ends) or ``ASD`` (19 metrics, inclusive ends).
    """

    def __init__(self, *, root: str, split: str, variant: str = "SMD", metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        if variant not in files.FORMATS:
            raise DatasetError(f"variant must be one of {sorted(files.FORMATS)}, got {variant!r}")
        self._split, self._format = split, files.FORMATS[variant]

    def load(self) -> EntitySource:
        return files.machine_source(self._root, self._split, self._format)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "split": self._split, "variant": self._format.name}
