"""The Kedro dataset of MSL's and SMAP's folder (``conf/base/catalog/raw/{msl,smap}.yml``), read-only.

It loads one split as an ``EntitySource`` (``tsad.connectors.entities``): a reader per channel found, called by the
ingest node for the selected channels only.
"""

from __future__ import annotations

from typing import Any

from tsad.connectors.entities import EntitySource
from tsad.datasets.entity_folders import EntityFolderDataset
from tsad.datasets.telemanom import files


class TelemanomFolderDataset(EntityFolderDataset):
    """One split of one spacecraft's channels (MSL or SMAP) from telemanom's ``train/``, ``test/`` and labels.

    Args:
        root: The folder holding ``train/``, ``test/`` and ``labels_file``.
        split: ``train`` or ``test`` (labelled from ``labels_file``).
        spacecraft: ``MSL`` or ``SMAP``: the label file's ``spacecraft`` column selects the channels.
        labels_file: The label file's name in ``root``.
    """

    def __init__(self, *, root: str, split: str, spacecraft: str, labels_file: str = files.LABELS_FILE,
                 metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        self._split, self._spacecraft, self._labels_file = split, spacecraft, labels_file

    def load(self) -> EntitySource:
        return files.channel_source(self._root, self._split, self._spacecraft, self._labels_file)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "split": self._split, "spacecraft": self._spacecraft}
