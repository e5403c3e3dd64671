"""Kedro datasets for multi-entity sources: a folder of per-entity files as distributed (SMD, ASD, MSL, SMAP,
NAB, UCR).

Each loads one split as an ``EntitySource`` (``tsad.connectors.entities``): the entities found and a reader
per entity, called by the ingest node for the selected entities only (like ``PartitionedDataset``, so a
subset reads only its own files). The readers keep each file's path in ``attrs["source"]`` for errors.
The folders are read-only: tsad never writes into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from tsad.connectors import nab, smd, telemanom, ucr
from tsad.connectors.entities import EntitySource


class _EntityFolderDataset(AbstractDataset[None, EntitySource]):
    """A read-only folder of per-entity source files."""

    def __init__(self, *, root: str, metadata: dict[str, Any] | None = None):
        self._root = Path(root)
        self.metadata = metadata

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._root} holds source files; tsad never writes over them")

    def _exists(self) -> bool:
        return self._root.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"root": str(self._root)}


class SmdFolderDataset(_EntityFolderDataset):
    """One split of SMD (or ASD, same layout): ``train/``, ``test/``, ``test_label/``, ``interpretation_label/``.

    Args:
        root: The dataset folder.
        split: ``train`` or ``test`` (the test split adds point labels and per-metric labels).
        variant: ``SMD`` (38 metrics, exclusive interval ends) or ``ASD`` (19 metrics, inclusive ends).
    """

    def __init__(self, *, root: str, split: str, variant: str = "SMD", metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        if variant not in smd.FORMATS:
            raise DatasetError(f"variant must be one of {sorted(smd.FORMATS)}, got {variant!r}")
        self._split, self._format = split, smd.FORMATS[variant]

    def load(self) -> EntitySource:
        return smd.machine_source(self._root, self._split, self._format)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "split": self._split, "variant": self._format.name}


class TelemanomFolderDataset(_EntityFolderDataset):
    """One split of one spacecraft's channels (MSL or SMAP) from telemanom's ``train/``, ``test/`` and labels.

    Args:
        root: The folder holding ``train/``, ``test/`` and ``labels_file``.
        split: ``train`` or ``test`` (labelled from ``labels_file``).
        spacecraft: ``MSL`` or ``SMAP``: the label file's ``spacecraft`` column selects the channels.
        labels_file: The label file's name in ``root``.
    """

    def __init__(self, *, root: str, split: str, spacecraft: str, labels_file: str = telemanom.LABELS_FILE,
                 metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        self._split, self._spacecraft, self._labels_file = split, spacecraft, labels_file

    def load(self) -> EntitySource:
        return telemanom.channel_source(self._root, self._split, self._spacecraft, self._labels_file)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "split": self._split, "spacecraft": self._spacecraft}


class NabFolderDataset(_EntityFolderDataset):
    """NAB's series (``data/<category>/<name>.csv``) labelled from ``labels/combined_windows.json``.

    NAB has no train/test files: both source entries load the whole series and the ingest node cuts each
    in time (``datasets.nab.ingestion.train_fraction``).

    Args:
        root: The NAB folder.
        windows_file: The windows file, relative to ``root``.
    """

    def __init__(self, *, root: str, windows_file: str = nab.WINDOWS_FILE, metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        self._windows_file = windows_file

    def load(self) -> EntitySource:
        return nab.series_source(self._root, self._windows_file)


class UcrArchiveDataset(_EntityFolderDataset):
    """One split of the UCR anomaly archive: the training prefix or the rest of every series.

    Args:
        root: The ``UCR_Anomaly_FullData`` folder.
        split: ``train`` (rows before ``trainEnd``) or ``test`` (the rest, holding the anomaly).
    """

    def __init__(self, *, root: str, split: str, metadata: dict[str, Any] | None = None):
        super().__init__(root=root, metadata=metadata)
        self._split = split

    def load(self) -> EntitySource:
        return ucr.archive_source(self._root, self._split)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "split": self._split}
