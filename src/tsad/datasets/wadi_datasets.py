"""Kedro datasets for WADI sources: the iTrust files as distributed, or the embedded network simulator.

Both load the cells of a WADI CSV through ``tsad.connectors.wadi.read_wadi_csv``, so the simulated network
goes through exactly the ingestion code that real files do. The simulator writes A1-format files, whose attack
file has no label column: its attack table travels with the loaded cells (``attrs["attacks"]``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from tsad.connectors.wadi import read_wadi_csv, write_wadi_csv
from tsad.core.errors import DataFormatError

logger = logging.getLogger(__name__)

SIMULATED_FILES = {"normal": "WADI_14days.csv", "attack": "WADI_attackdata.csv"}
ATTACK_TABLE_FILE = "WADI_attacks.csv"
MANIFEST_FILE = "simulation.json"
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


class SimulatedWadiDataset(AbstractDataset[None, pd.DataFrame]):
    """One file of the simulated WADI network, written in the A1 format on first use.

    The simulator writes both files (normal with its 4-line preamble, attack without a label column), its
    attack table and a manifest of its settings into ``directory``. A later load reuses the files when the
    manifest matches the settings and regenerates them otherwise, so a new preset or seed takes effect on the
    next run. Loading the attack file attaches the attack table (``attrs["attacks"]``) that labels it.

    Args:
        directory: Folder of the simulated files (never a folder of real WADI files).
        split: ``"normal"`` (training data) or ``"attack"`` (test data).
        preset: ``"default"`` (minutes end to end on 2 CPU cores), ``"full"`` (A1 scale) or ``"tiny"``.
        seed: Seed of the simulation.
        n_normal: Optional row count overriding the preset's normal length.
        n_attack: Optional row count overriding the preset's attack length.
    """

    def __init__(self, *, directory: str, split: str, preset: str = "default", seed: int = 2017,
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
        attacks = self._directory / ATTACK_TABLE_FILE if self._split == "attack" else None
        return read_wadi_csv(self._directory / SIMULATED_FILES[self._split], attacks)

    def save(self, data: None) -> None:
        raise DatasetError("the simulated network is generated on load; it cannot be saved to")

    def _exists(self) -> bool:
        return (self._directory / SIMULATED_FILES[self._split]).exists()

    def _describe(self) -> dict[str, Any]:
        return {"directory": str(self._directory), "split": self._split, **self._settings}

    def _manifest(self) -> dict | None:
        path = self._directory / MANIFEST_FILE
        files = [self._directory / name for name in (*SIMULATED_FILES.values(), ATTACK_TABLE_FILE)]
        if not path.exists() or not all(f.exists() for f in files):
            return None
        return json.loads(path.read_text())

    def _simulate(self) -> None:
        from tsad.simulators.wadi_plant import simulate_preset, wadi_preamble

        settings = dict(self._settings)
        logger.info("Simulating the WADI network into %s with %s", self._directory, settings)
        network = simulate_preset(settings.pop("preset"), **settings)
        self._directory.mkdir(parents=True, exist_ok=True)
        (self._directory / MANIFEST_FILE).unlink(missing_ok=True)  # the files are stale until the manifest is back
        write_wadi_csv(network.normal, self._directory / SIMULATED_FILES["normal"], "a1_normal",
                       wadi_preamble(self._settings))
        write_wadi_csv(network.attack, self._directory / SIMULATED_FILES["attack"], "a1_attack")
        network.attacks.to_csv(self._directory / ATTACK_TABLE_FILE, index=False)
        (self._directory / MANIFEST_FILE).write_text(json.dumps(self._settings, indent=2))
