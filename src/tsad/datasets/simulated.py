"""The common part of the simulated-plant datasets: files written on first load into a folder of their settings
(``<directory>/<preset>_seed<seed>``), then only read, so that runs at once with other presets or seeds never
rewrite a file another run reads."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from filelock import FileLock
from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

MANIFEST_FILE = "simulation.json"


class SimulatedSourceDataset(AbstractDataset[None, pd.DataFrame]):
    """One split of a simulated plant, read back through the real files' reader.

    Subclasses name their files and write them (``_write``) and read one split (``_read``). The files of one
    preset and seed go to their own folder, ``<directory>/<preset>_seed<seed>`` (``default_seed2015``; row count
    overrides add ``_n_normal<rows>``), written whole by the first run that needs them (under a lock, into a
    staging folder renamed into place) and never rewritten.

    Args:
        directory: Folder of the simulated files' folders (never a folder of real files).
        split: ``"normal"`` (training data) or ``"attack"`` (test data).
        preset: Simulator size: ``"default"`` (minutes end to end on 2 CPU cores), ``"full"`` (the real
            release's scale) or ``"tiny"`` (tests).
        seed: Seed of the simulation.
        n_normal: Optional row count overriding the preset's normal length.
        n_attack: Optional row count overriding the preset's attack length.
    """

    files: ClassVar[dict[str, str]]      # split -> file name
    extra_files: ClassVar[tuple[str, ...]] = ()  # e.g. the attack list
    plant: ClassVar[str]

    def __init__(self, *, directory: str, split: str, preset: str = "default", seed: int = 0,
                 n_normal: int | None = None, n_attack: int | None = None, metadata: dict[str, Any] | None = None):
        if split not in self.files:
            raise DatasetError(f"split must be one of {sorted(self.files)}, got {split!r}")
        self._split = split
        overrides = {k: int(v) for k, v in (("n_normal", n_normal), ("n_attack", n_attack)) if v is not None}
        self._settings = {"preset": preset, "seed": int(seed), **overrides}
        self._root = Path(directory)
        names = [preset, f"seed{int(seed)}", *(f"{key}{rows}" for key, rows in overrides.items())]
        self._directory = self._root / "_".join(names)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        if self._manifest() != self._settings:
            self._simulate()
        return self._read(self._split)

    def _simulate(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        with FileLock(self._root / f".{self._directory.name}.lock"):
            if self._manifest() == self._settings:  # simulated by another run while this one waited
                return
            logger.info("Simulating the %s into %s with %s", self.plant, self._directory, self._settings)
            staging = self._root / f".{self._directory.name}.{uuid.uuid4().hex}"  # mkdtemp's would be private (0700)
            try:
                staging.mkdir()
                settings = dict(self._settings)
                self._write(staging, settings.pop("preset"), settings)
                (staging / MANIFEST_FILE).write_text(json.dumps(self._settings, indent=2))
                shutil.rmtree(self._directory, ignore_errors=True)  # an incomplete folder (files removed by hand)
                staging.rename(self._directory)
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def save(self, data: None) -> None:
        raise DatasetError(f"the simulated {self.plant} is generated on load; it cannot be saved to")

    def _exists(self) -> bool:
        return (self._directory / self.files[self._split]).exists()

    def _describe(self) -> dict[str, Any]:
        return {"directory": str(self._directory), "split": self._split, **self._settings}

    def _manifest(self) -> dict | None:
        path = self._directory / MANIFEST_FILE
        names = (*self.files.values(), *self.extra_files)
        if not path.exists() or not all((self._directory / name).exists() for name in names):
            return None
        return json.loads(path.read_text())

    def _write(self, folder: Path, preset: str, settings: dict[str, Any]) -> None:
        """Simulate with ``simulate_preset(preset, **settings)`` and write every file into ``folder``."""
        raise NotImplementedError

    def _read(self, split: str) -> pd.DataFrame:
        """Read one split's file as the real files' reader does."""
        raise NotImplementedError
