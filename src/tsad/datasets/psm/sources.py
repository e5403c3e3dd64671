"""The Kedro dataset of PSM's source files (``conf/base/catalog/raw/psm.yml``), read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tsad.datasets.psm.files import read_psm_csv
from tsad.datasets.record_files import SourceFileDataset


class PsmDataset(SourceFileDataset):
    """A PSM split (``train.csv`` or ``test.csv``), with ``test_label.csv`` when ``label_filepath`` is set."""

    hint = ("PSM is not shipped with tsad: put train.csv, test.csv and test_label.csv (eBay's RANSynCoders "
            "release, also in the Anomaly-Transformer data bundle) in <data_root>/PSM/, or point psm.source_train "
            "and psm.source_test at them in conf/local/catalog.yml (README, 'PSM, KDD Cup 99 and CICIDS2017')")

    def __init__(self, *, filepath: str, label_filepath: str | None = None, metadata: dict[str, Any] | None = None):
        super().__init__(filepath=filepath, metadata=metadata)
        self._labels = Path(label_filepath) if label_filepath else None

    def _paths(self) -> list[Path]:
        return [self._filepath] + ([self._labels] if self._labels else [])

    def _read(self) -> pd.DataFrame:
        return read_psm_csv(self._filepath, self._labels)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "label_filepath": str(self._labels) if self._labels else None}
