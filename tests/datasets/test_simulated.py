"""The simulated plants' files: one folder per preset and seed, written whole by one run, then only read."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tsad.datasets.simulated import MANIFEST_FILE, SimulatedSourceDataset


class CountedPlant(SimulatedSourceDataset):
    """A plant of a few rows whose simulation is slow enough for runs at once to overlap, and counted."""

    files = {"normal": "normal.csv", "attack": "attack.csv"}
    plant = "test plant"
    simulations: list[dict] = []
    fail = False

    def _write(self, folder: Path, preset: str, settings: dict[str, Any]) -> None:
        type(self).simulations.append({"preset": preset, **settings})
        pd.DataFrame({"x": [settings["seed"]] * 3}).to_csv(folder / "normal.csv", index=False)
        time.sleep(0.3)
        if type(self).fail:
            raise KeyboardInterrupt
        pd.DataFrame({"x": [settings["seed"]] * 2}).to_csv(folder / "attack.csv", index=False)

    def _read(self, split: str) -> pd.DataFrame:
        return pd.read_csv(self._directory / self.files[split])


@pytest.fixture(autouse=True)
def counted():
    CountedPlant.simulations, CountedPlant.fail = [], False


def test_each_preset_and_seed_gets_its_own_folder_written_once(tmp_path):
    first = CountedPlant(directory=str(tmp_path), split="normal", preset="tiny", seed=1)
    assert first.load()["x"].tolist() == [1, 1, 1]
    folder = tmp_path / "tiny_seed1"
    assert {p.name for p in folder.iterdir()} == {"normal.csv", "attack.csv", MANIFEST_FILE}
    stamps = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert CountedPlant(directory=str(tmp_path), split="attack", preset="tiny", seed=1).load()["x"].tolist() == [1, 1]
    assert CountedPlant(directory=str(tmp_path), split="normal", preset="tiny", seed=2).load()["x"].tolist() == [2] * 3
    CountedPlant(directory=str(tmp_path), split="normal", preset="tiny", seed=1, n_normal=50).load()
    assert len(CountedPlant.simulations) == 3  # the first folder was reused
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps  # and never rewritten
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "tiny_seed1", "tiny_seed1_n_normal50", "tiny_seed2"]


def test_runs_at_once_simulate_once_and_read_the_same_files(tmp_path):
    loaded = {}

    def load(split: str) -> None:
        loaded[split] = CountedPlant(directory=str(tmp_path), split=split, preset="tiny", seed=7).load()

    threads = [threading.Thread(target=load, args=(split,)) for split in ("normal", "attack")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(CountedPlant.simulations) == 1
    assert loaded["normal"]["x"].tolist() == [7] * 3 and loaded["attack"]["x"].tolist() == [7] * 2


def test_an_interrupted_simulation_leaves_no_folder_and_is_done_again(tmp_path):
    CountedPlant.fail = True
    with pytest.raises(KeyboardInterrupt):
        CountedPlant(directory=str(tmp_path), split="normal", preset="tiny", seed=1).load()
    assert [p.name for p in tmp_path.iterdir()] == [".tiny_seed1.lock"]  # no half-written folder, no staging folder
    CountedPlant.fail = False
    assert CountedPlant(directory=str(tmp_path), split="attack", preset="tiny", seed=1).load()["x"].tolist() == [1, 1]
