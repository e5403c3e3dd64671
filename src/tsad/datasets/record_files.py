"""Kedro datasets for source files read as they are distributed: PSM, KDD Cup 99 and CICIDS2017.

Each loads the cells of one file (PSM's test split: the data and its label file) through the Kedro-free
readers in ``tsad.connectors``; the ingest node types them. They are read-only, and a missing file stops the
run with an error that names the file and says where the data comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tsad.connectors.cicids import read_cicids_csv
from tsad.connectors.kddcup99 import read_kddcup_file
from tsad.connectors.psm import read_psm_csv
from tsad.core.errors import DataFormatError


class _SourceFile(AbstractDataset[None, pd.DataFrame]):
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


class PsmDataset(_SourceFile):
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


class KddCupDataset(_SourceFile):
    """A KDD Cup 99 file: ``kddcup.data_10_percent.gz`` (training) or ``corrected.gz`` (labelled test)."""

    hint = ("KDD Cup 99 comes from the UCI KDD archive (kddcup.data_10_percent.gz and corrected.gz); ../shared/data"
            "/KDDCup99 holds both: run with --env=shared or --params=data_root=../shared/data, or put them in "
            "<data_root>/KDDCup99/")

    def _read(self) -> pd.DataFrame:
        return read_kddcup_file(self._filepath)


class CicidsDataset(_SourceFile):
    """A CICIDS2017 day file as produced by CICFlowMeter (MachineLearningCVE or GeneratedLabelledFlows)."""

    hint = ("CICIDS2017 is not shipped with tsad: download the CSVs (MachineLearningCSV.zip) from the Canadian "
            "Institute for Cybersecurity, put the day files in <data_root>/CICIDS2017/, or point "
            "cicids2017.source_train / cicids2017.source_test at them in conf/local/catalog.yml (README, "
            "'PSM, KDD Cup 99 and CICIDS2017')")

    def _read(self) -> pd.DataFrame:
        return read_cicids_csv(self._filepath)
