"""Kedro datasets for SWaT sources: the iTrust files as distributed, or the embedded plant simulator.

Both load the same thing: the text cells of a SWaT export, read by ``tsad.connectors.swat.read_swat_export``,
so the simulated plant goes through exactly the ingestion code that real files do.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tsad.connectors.swat import read_swat_export, write_swat_csv

logger = logging.getLogger(__name__)

SIMULATED_FILES = {"normal": "SWaT_Dataset_Normal_v1.csv", "attack": "SWaT_Dataset_Attack_v0.csv"}
ATTACK_LIST_FILE = "List_of_attacks.csv"
MANIFEST_FILE = "simulation.json"


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


class SimulatedSwatDataset(AbstractDataset[None, pd.DataFrame]):
    """One split of the simulated SWaT plant, written as SWaT CSV files on first use.

    The simulator writes both files (normal and attack) plus the attack list and a manifest of its settings
    into ``directory``. A later load reuses the files when the manifest matches the settings and regenerates
    them otherwise, so changing the preset or the seed takes effect on the next run.

    Args:
        directory: Folder of the simulated files (never a folder of real SWaT files).
        split: ``"normal"`` (training data) or ``"attack"`` (test data).
        preset: Simulator size: ``"default"`` (minutes on 2 CPU cores), ``"full"`` (SWaT scale) or ``"tiny"``.
        seed: Seed of the simulation.
        n_normal: Optional row count overriding the preset's normal length.
        n_attack: Optional row count overriding the preset's attack length.
    """

    def __init__(self, *, directory: str, split: str, preset: str = "default", seed: int = 2015,
                 n_normal: int | None = None, n_attack: int | None = None, metadata: dict[str, Any] | None = None):
        if split not in SIMULATED_FILES:
            raise DatasetError(f"split must be one of {sorted(SIMULATED_FILES)}, got {split!r}")
        self._directory = Path(directory)
        self._split = split
        overrides = {k: int(v) for k, v in (("n_normal", n_normal), ("n_attack", n_attack)) if v is not None}
        self._settings = {"preset": preset, "seed": int(seed), **overrides}
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        if self._manifest() != self._settings:
            self._simulate()
        return read_swat_export(self._directory / SIMULATED_FILES[self._split])

    def save(self, data: None) -> None:
        raise DatasetError("the simulated plant is generated on load; it cannot be saved to")

    def _exists(self) -> bool:
        return (self._directory / SIMULATED_FILES[self._split]).exists()

    def _describe(self) -> dict[str, Any]:
        return {"directory": str(self._directory), "split": self._split, **self._settings}

    def _manifest(self) -> dict | None:
        path = self._directory / MANIFEST_FILE
        files = [self._directory / name for name in SIMULATED_FILES.values()]
        if not path.exists() or not all(f.exists() for f in files):
            return None
        return json.loads(path.read_text())

    def _simulate(self) -> None:
        from tsad.simulators.swat_plant import simulate_preset

        settings = dict(self._settings)
        logger.info("Simulating the SWaT plant into %s with %s", self._directory, settings)
        plant = simulate_preset(settings.pop("preset"), **settings)
        self._directory.mkdir(parents=True, exist_ok=True)
        (self._directory / MANIFEST_FILE).unlink(missing_ok=True)  # the files are stale until the manifest is back
        write_swat_csv(plant.normal, self._directory / SIMULATED_FILES["normal"])
        write_swat_csv(plant.attack, self._directory / SIMULATED_FILES["attack"])
        plant.attacks.to_csv(self._directory / ATTACK_LIST_FILE, index=False)
        (self._directory / MANIFEST_FILE).write_text(json.dumps(self._settings, indent=2))
