"""Tests of the SWaT plant simulator on the "tiny" preset: format, determinism, encodings, labels, physics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsad.datasets.swat.files import SWAT_ACTUATORS, SWAT_TAGS, parse_swat_frame, read_swat_export, write_swat_csv
from tsad.simulators.swat_plant import (
    ATTACK_START,
    NORMAL_START,
    PRESETS,
    SimulatedPlant,
    simulate_preset,
    simulate_swat_plant,
)

CONSTANT_IN_NORMAL = ("P102", "P202", "P301", "P401", "P404", "P502", "P601", "P603")


@pytest.fixture(scope="module")
def plant() -> SimulatedPlant:
    return simulate_preset("tiny", seed=7)


def attack_segments(labels: pd.Series) -> list[tuple[int, int]]:
    """(first, last) row positions of each run of non-"Normal" labels."""
    flags = np.r_[0, (labels.to_numpy() != "Normal").astype(int), 0]
    edges = np.diff(flags)
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist(), strict=True))


def test_presets_have_the_documented_sizes() -> None:
    assert (PRESETS["full"]["n_normal"], PRESETS["full"]["n_attack"]) == (495_000, 449_919)
    assert (PRESETS["default"]["n_normal"], PRESETS["default"]["n_attack"]) == (28_800, 28_800)
    assert PRESETS["default"]["n_attacks"] >= 12
    assert PRESETS["tiny"]["n_attacks"] >= 4


@pytest.mark.parametrize("part", ["normal", "attack"])
def test_schema_column_order_and_one_second_steps(plant: SimulatedPlant, part: str) -> None:
    frame = getattr(plant, part)
    assert list(frame.columns) == [*SWAT_TAGS, "label"]
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "timestamp"
    assert (frame.index[1:] - frame.index[:-1] == pd.Timedelta(seconds=1)).all()
    assert all(frame[tag].dtype == np.float64 for tag in SWAT_TAGS)
    assert np.isfinite(frame[list(SWAT_TAGS)].to_numpy()).all()
    assert len(frame) == PRESETS["tiny"][f"n_{part}"]


def test_files_start_like_the_december_2015_release(plant: SimulatedPlant) -> None:
    assert plant.normal.index[0] == NORMAL_START == pd.Timestamp("2015-12-22 16:00:00")
    assert plant.attack.index[0] == ATTACK_START == pd.Timestamp("2015-12-28 10:00:00")


def test_same_seed_same_output_and_other_seed_differs(plant: SimulatedPlant) -> None:
    again = simulate_preset("tiny", seed=7)
    pd.testing.assert_frame_equal(again.normal, plant.normal)
    pd.testing.assert_frame_equal(again.attack, plant.attack)
    pd.testing.assert_frame_equal(again.attacks, plant.attacks)
    other = simulate_preset("tiny", seed=8)
    assert not np.allclose(other.normal["LIT101"], plant.normal["LIT101"])


def test_actuator_encodings(plant: SimulatedPlant) -> None:
    for frame in (plant.normal, plant.attack):
        for tag in SWAT_ACTUATORS:
            values = frame[tag].to_numpy()
            assert (values == np.rint(values)).all(), tag
            allowed = {0.0, 1.0, 2.0} if tag.startswith("MV") else {1.0, 2.0}
            assert set(np.unique(values)) <= allowed, tag
    # A valve that moves passes through 0 ("in transition") on the way.
    moved = [t for t in SWAT_ACTUATORS if t.startswith("MV") and {1.0, 2.0} <= set(plant.normal[t])]
    assert moved
    assert all((plant.normal[t] == 0).any() for t in moved)


def test_standby_and_unused_actuators_are_constant_in_normal_operation(plant: SimulatedPlant) -> None:
    for tag in CONSTANT_IN_NORMAL:
        assert (plant.normal[tag] == 1).all(), tag
    switching = [t for t in SWAT_ACTUATORS if plant.normal[t].nunique() > 1]
    assert len(switching) >= 6


def test_labels(plant: SimulatedPlant) -> None:
    assert (plant.normal["label"] == "Normal").all()
    values = set(plant.attack["label"].unique())
    assert values == {"Normal", "Attack", "A ttack"}
    # The typo sits inside a single attack, on a few rows.
    typo = np.flatnonzero(plant.attack["label"].to_numpy() == "A ttack")
    assert 1 <= len(typo) <= 20
    segments = attack_segments(plant.attack["label"])
    assert sum(first <= typo[0] and typo[-1] <= last for first, last in segments) == 1
    ratio = (plant.attack["label"] != "Normal").mean()
    assert 0.05 <= ratio <= 0.25


def test_attack_segments_match_the_attack_table(plant: SimulatedPlant) -> None:
    table = plant.attacks
    assert {"number", "kind", "start", "end", "points", "description", "intent"} <= set(table.columns)
    segments = attack_segments(plant.attack["label"])
    assert len(segments) >= 4
    assert len(segments) == len(table)
    assert segments == list(zip(table["start_row"], table["end_row"], strict=True))
    index = plant.attack.index
    assert list(table["start"]) == [index[first] for first, _ in segments]
    assert list(table["end"]) == [index[last] for _, last in segments]
    assert table["points"].str.match(r"^[A-Z]+-\d+(, [A-Z]+-\d+)*$").all()
    assert table["number"].tolist() == list(range(1, len(table) + 1))


def test_a_larger_run_covers_at_least_ten_attack_kinds() -> None:
    plant = simulate_swat_plant(600, 24_000, seed=3, n_attacks=12)
    assert plant.attacks["kind"].nunique() >= 10
    assert plant.attacks["kind"].str.startswith("multi_").sum() >= 1


@pytest.mark.parametrize(("level", "inflow", "outflow"), [
    ("LIT101", "FIT101", "FIT201"), ("LIT301", "FIT201", "FIT301"), ("LIT401", "FIT301", "FIT401"),
])
def test_level_change_follows_inflow_minus_outflow(plant: SimulatedPlant, level: str, inflow: str,
                                                   outflow: str) -> None:
    frame = plant.normal
    change = frame[level].diff().to_numpy()[1:]
    net = (frame[inflow] - frame[outflow]).to_numpy()[:-1]
    assert np.corrcoef(change, net)[0, 1] > 0.5


def test_flows_follow_valves_and_pumps(plant: SimulatedPlant) -> None:
    frame = plant.normal
    assert frame.loc[frame["MV101"] == 1, "FIT101"].max() == 0.0
    assert frame.loc[frame["MV101"] == 2, "FIT101"].mean() > 2.0
    no_transfer = (frame["P101"] == 1) & (frame["P102"] == 1)
    assert (frame.loc[no_transfer, "FIT201"] == 0.0).all()
    # Dosing pumps run with the transfer.
    assert ((frame["P201"] == 2) == (frame["FIT201"] > 0)).all()


def test_spoofed_level_makes_the_plc_act_on_it() -> None:
    """LIT-301 reported above HH stops the transfer pump while the real tank keeps draining."""
    plant = simulate_swat_plant(600, 30_000, seed=11, n_attacks=15)
    spoofs = plant.attacks[plant.attacks["description"].str.startswith("Set value of LIT-301 above HH")]
    assert len(spoofs) >= 1
    attack = spoofs.iloc[0]
    window = plant.attack.iloc[attack["start_row"] + 10: attack["end_row"] + 1]
    assert window["LIT301"].nunique() == 1
    assert (window["P101"] == 1).all()
    assert (window["FIT201"] == 0).all()


def test_round_trip_through_the_swat_csv_format(plant: SimulatedPlant, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    write_swat_csv(plant.attack, path)
    parsed = parse_swat_frame(read_swat_export(path))
    assert parsed.index.equals(plant.attack.index)
    assert list(parsed.columns) == [*SWAT_TAGS, "label"]
    for tag in SWAT_TAGS:
        np.testing.assert_allclose(parsed[tag].to_numpy(np.float64), plant.attack[tag].to_numpy(), rtol=1e-6,
                                   atol=0, err_msg=tag)
    np.testing.assert_array_equal(parsed["label"].to_numpy(), (plant.attack["label"] != "Normal").to_numpy())


def test_preset_overrides_and_unknown_names() -> None:
    small = simulate_preset("tiny", seed=1, n_normal=600)
    assert len(small.normal) == 600
    with pytest.raises(ValueError, match="unknown SWaT preset"):
        simulate_preset("huge")
    with pytest.raises(ValueError, match="parameter"):
        simulate_preset("tiny", n_rows=5)
