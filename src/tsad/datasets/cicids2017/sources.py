"""The Kedro dataset of CICIDS2017's source files (``conf/base/catalog/raw/cicids2017.yml``), read-only."""

from __future__ import annotations

import pandas as pd

from tsad.datasets.cicids2017.files import read_cicids_csv
from tsad.datasets.record_files import SourceFileDataset


class CicidsDataset(SourceFileDataset):
    """A CICIDS2017 day file as produced by CICFlowMeter (MachineLearningCVE or GeneratedLabelledFlows)."""

    hint = ("CICIDS2017 is not shipped with tsad: download the CSVs (MachineLearningCSV.zip) from the Canadian "
            "Institute for Cybersecurity, put the day files in <data_root>/CICIDS2017/, or point "
            "cicids2017.source_train / cicids2017.source_test at them in conf/local/catalog.yml (README, "
            "'PSM, KDD Cup 99 and CICIDS2017')")

    def _read(self) -> pd.DataFrame:
        return read_cicids_csv(self._filepath)
