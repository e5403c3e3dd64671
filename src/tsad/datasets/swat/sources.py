"""Kedro datasets for SWaT sources: the iTrust files as distributed, or the embedded plant simulator.

Both load the same thing: the text cells of a SWaT export, read by ``tsad.datasets.swat.files.read_swat_export``,
so the simulated plant goes through exactly the ingestion code that real files do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tsad.datasets.simulated import SimulatedSourceDataset
from tsad.datasets.swat.files import read_swat_export, write_swat_csv
from tsad.simulators.swat_plant import simulate_preset

SIMULATED_FILES = {"normal": "SWaT_Dataset_Normal_v1.csv", "attack": "SWaT_Dataset_Attack_v0.csv"}
ATTACK_LIST_FILE = "List_of_attacks.csv"


class SwatExportDataset(AbstractDataset[None, pd.DataFrame]):
    """A SWaT physical-layer file as distributed (.xlsx, .csv, ``;``/decimal-comma .csv). Read-only."""

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_swat_export(self._filepath)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._filepath} is a source file; tsad never writes over it")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class SimulatedSwatDataset(SimulatedSourceDataset):
    """One split of the simulated SWaT plant, written as SWaT CSV files on first use.

    The simulator writes both files (normal and attack), the attack list and a manifest of its settings (see
    ``SimulatedSourceDataset``); both splits are read by ``read_swat_export``, as real files are.
    """

    files = SIMULATED_FILES
    extra_files = (ATTACK_LIST_FILE,)
    plant = "SWaT plant"

    def __init__(self, *, seed: int = 2015, **options: Any):
        super().__init__(seed=seed, **options)

    def _write(self, folder: Path, preset: str, settings: dict[str, Any]) -> None:
        plant = simulate_preset(preset, **settings)
        write_swat_csv(plant.normal, folder / SIMULATED_FILES["normal"])
        write_swat_csv(plant.attack, folder / SIMULATED_FILES["attack"])
        plant.attacks.to_csv(folder / ATTACK_LIST_FILE, index=False)

    def _read(self, split: str) -> pd.DataFrame:
        return read_swat_export(self._directory / SIMULATED_FILES[split])
