"""The Kedro dataset of KDD Cup 99's source files (``conf/base/catalog/raw/kddcup99.yml``), read-only."""

from __future__ import annotations

import pandas as pd

from tsad.datasets.kddcup99.files import read_kddcup_file
from tsad.datasets.record_files import SourceFileDataset


class KddCupDataset(SourceFileDataset):
    """A KDD Cup 99 file: ``kddcup.data_10_percent.gz`` (training) or ``corrected.gz`` (labelled test)."""

    hint = ("KDD Cup 99 comes from the UCI KDD archive (kddcup.data_10_percent.gz and corrected.gz); ../shared/data"
            "/KDDCup99 holds both: run with --env=shared or --params=data_root=../shared/data, or put them in "
            "<data_root>/KDDCup99/")

    def _read(self) -> pd.DataFrame:
        return read_kddcup_file(self._filepath)
