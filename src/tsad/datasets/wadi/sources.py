"""Kedro datasets for WADI sources: the iTrust files as distributed, or the embedded network simulator.

Both load the cells of a WADI CSV through ``tsad.datasets.wadi.files.read_wadi_csv``, so the simulated network
goes through exactly the ingestion code that real files do. The simulator writes A1-format files, whose attack
file has no label column: its attack table travels with the loaded cells (``attrs["attacks"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tsad.core.errors import DataFormatError
from tsad.datasets.simulated import SimulatedSourceDataset
from tsad.datasets.wadi.files import read_wadi_csv, write_wadi_csv
from tsad.simulators.wadi_plant import simulate_preset, wadi_preamble

SIMULATED_FILES = {"normal": "WADI_14days.csv", "attack": "WADI_attackdata.csv"}
ATTACK_TABLE_FILE = "WADI_attacks.csv"
REAL_FILES_HINT = ("WADI is not public: request the A1 or A2 release from iTrust (SUTD), put the two files in "
                   "that folder, or point wadi.source_train / wadi.source_test at them in conf/local/catalog.yml "
                   "(README, 'Real WADI files'); the default catalog uses the simulator instead")


class WadiExportDataset(AbstractDataset[None, pd.DataFrame]):
    """A WADI CSV as distributed (A1 ``WADI_14days.csv`` / ``WADI_attackdata.csv``, A2 ``WADI_14days_new.csv``
    / ``WADI_attackdataLABLE.csv``, optionally gzipped). Read-only.

    Args:
        filepath: The file.
        attacks_filepath: Optional attack table (CSV with ``start`` and ``end``, inclusive) labelling a file
            without a label column. Without it, the A1 attack file is labelled from the built-in A1 table.
    """

    def __init__(self, *, filepath: str, attacks_filepath: str | None = None,
                 metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self._attacks = Path(attacks_filepath) if attacks_filepath else None
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        if not self._filepath.exists():
            raise DataFormatError(f"{self._filepath}: file not found. {REAL_FILES_HINT}")
        return read_wadi_csv(self._filepath, self._attacks)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._filepath} is a source file; tsad never writes over it")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "attacks_filepath": str(self._attacks) if self._attacks else None}


class SimulatedWadiDataset(SimulatedSourceDataset):
    """One file of the simulated WADI network, written in the A1 format on first use.

    The simulator writes both files (normal with its 4-line preamble, attack without a label column), its
    attack table and a manifest of its settings (see ``SimulatedSourceDataset``). Loading the attack file
    attaches the attack table (``attrs["attacks"]``) that labels it.
    """

    files = SIMULATED_FILES
    extra_files = (ATTACK_TABLE_FILE,)
    plant = "WADI network"

    def __init__(self, *, seed: int = 2017, **options: Any):
        super().__init__(seed=seed, **options)

    def _write(self, folder: Path, preset: str, settings: dict[str, Any]) -> None:
        network = simulate_preset(preset, **settings)
        write_wadi_csv(network.normal, folder / SIMULATED_FILES["normal"], "a1_normal", wadi_preamble(self._settings))
        write_wadi_csv(network.attack, folder / SIMULATED_FILES["attack"], "a1_attack")
        network.attacks.to_csv(folder / ATTACK_TABLE_FILE, index=False)

    def _read(self, split: str) -> pd.DataFrame:
        attacks = self._directory / ATTACK_TABLE_FILE if split == "attack" else None
        return read_wadi_csv(self._directory / SIMULATED_FILES[split], attacks)
