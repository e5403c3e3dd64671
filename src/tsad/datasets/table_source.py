"""The Kedro dataset behind datasets declared in configuration (``datasets.<name>.source``: CSV or Parquet files).

The project's config loader (``tsad.config.TsadConfigLoader``) writes these catalog entries from the parameters
block, so a user never writes them by hand::

    <name>.source_train: {type: tsad.datasets.TableSourceDataset, dataset: <name>, split: train, source: {...}}
    <name>.source_test:  {type: tsad.datasets.TableSourceDataset, dataset: <name>, split: test,  source: {...}}
    <name>.new_data:     {type: tsad.datasets.TableSourceDataset, dataset: <name>, split: new,   source: {...},
                          filepath: <--params new_data, or null for the test files>}

``train`` and ``test`` load a ``TableSource``: the files found and a lazy reader per entity, read by the ingest
node (``tsad.connectors.table.ingest.ingest_table``) so that a bad file stops the node before anything is saved.
``new`` loads the rows a registered model of the dataset takes (batch inference). The files are read-only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tsad.connectors.table.source_spec import table_spec
from tsad.connectors.table.sources import TableSource, table_model_input, table_source


class TableSourceDataset(AbstractDataset[None, "TableSource | pd.DataFrame"]):
    """One side of a dataset declared by a ``datasets.<name>.source`` block.

    Args:
        dataset: The dataset's name (``<name>``), for messages.
        split: ``train`` or ``test`` (a ``TableSource`` for the ingest node) or ``new`` (model input rows).
        source: The ``datasets.<name>.source`` block (``tsad.connectors.table.source_spec.table_spec`` lists its keys).
        filepath: ``new`` only: the file(s), folder or glob to score; default the test files.
        metadata: Kedro-Viz metadata.

    Raises:
        DatasetError: The block has an unknown key or a value of the wrong form (naming the key).
    """

    def __init__(self, *, dataset: str, split: str, source: dict[str, Any], filepath: str | list[str] | None = None,
                 metadata: dict[str, Any] | None = None):
        if split not in ("train", "test", "new"):
            raise DatasetError(f"{dataset}: split must be train, test or new, got {split!r}")
        try:
            self._spec = table_spec(source, dataset)
        except ValueError as error:
            raise DatasetError(str(error)) from error
        self._split = split
        self._filepath = [filepath] if isinstance(filepath, str) else filepath
        self.metadata = metadata

    def load(self) -> TableSource | pd.DataFrame:
        if self._split == "new":
            return table_model_input(self._spec, self._filepath)
        return table_source(self._spec, self._split)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._spec.dataset}: {self._spec.key(self._split)} lists source files; tsad never "
                           "writes over them")

    def _exists(self) -> bool:
        return True  # the files are listed on load, which names any that are missing

    def _describe(self) -> dict[str, Any]:
        spec = self._spec
        if self._split == "new" and self._filepath:
            paths = self._filepath
        elif spec.parties:
            paths = [path for party in spec.parties for path in
                     (party.test if self._split != "train" and party.test else party.train)]
        else:
            paths = spec.test if self._split != "train" and spec.test else spec.train
        return {"dataset": self._spec.dataset, "split": self._split, "paths": list(paths)}
