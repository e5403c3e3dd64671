"""Tests of the WADI network simulator on the "tiny" preset: format, determinism, encodings, labels, physics,
and that the files it writes go through the WADI loader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsad.datasets import SimulatedWadiDataset
from tsad.datasets.wadi.files import (
    WADI_CHANNELS,
    WADI_EMPTY_TAGS,
    WADI_TAGS,
    read_wadi_csv,
    write_wadi_csv,
)
from tsad.datasets.wadi.ingest import ingest_wadi
from tsad.simulators.wadi_plant import (
    ATTACK_START,
    NORMAL_START,
    PRESETS,
    SimulatedWadi,
    simulate_preset,
    simulate_wadi_plant,
    wadi_preamble,
)

STATUS_TAGS = [t for t in WADI_TAGS if t.endswith("_STATUS") and t not in WADI_EMPTY_TAGS]
SWITCH_TAGS = [t for t in WADI_TAGS if "_LS_" in t and t not in WADI_EMPTY_TAGS]
ANALOG = [t for t in WADI_CHANNELS if t not in STATUS_TAGS and t not in SWITCH_TAGS]


@pytest.fixture(scope="module")
def network() -> SimulatedWadi:
    return simulate_preset("tiny", seed=7)


def segments(labels: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.r_[0, labels, 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist(), strict=True))


def test_presets_have_the_documented_sizes():
    assert (PRESETS["full"]["n_normal"], PRESETS["full"]["n_attack"]) == (1_209_601, 172_801)
    assert PRESETS["full"]["schedule"] == "a1"
    assert PRESETS["default"]["n_attacks"] >= 10 and PRESETS["tiny"]["n_attacks"] >= 4


@pytest.mark.parametrize("part", ["normal", "attack"])
def test_schema_order_and_one_second_steps(network, part):
    frame = getattr(network, part)
    assert list(frame.columns[:127]) == list(WADI_TAGS)
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "timestamp"
    assert (frame.index[1:] - frame.index[:-1] == pd.Timedelta(seconds=1)).all()
    assert len(frame) == PRESETS["tiny"][f"n_{part}"]


def test_files_start_like_the_a1_release(network):
    assert network.normal.index[0] == NORMAL_START == pd.Timestamp("2017-09-25 18:00:00")
    assert network.attack.index[0] == ATTACK_START == pd.Timestamp("2017-10-09 18:00:00")


def test_four_empty_columns_and_a_few_gaps(network):
    for frame in (network.normal, network.attack):
        assert frame[list(WADI_EMPTY_TAGS)].isna().all().all()
        gaps = frame[list(WADI_CHANNELS)].isna()
        assert gaps.to_numpy().any()  # logger gaps
        assert gaps.mean().max() <= 0.01  # within the cleaning stage's default max_fill_fraction
    # The normal file has an outage of every tag for a few seconds.
    assert network.normal[list(WADI_CHANNELS)].isna().all(axis=1).sum() >= 3


def test_same_seed_same_output_and_other_seed_differs(network):
    again = simulate_preset("tiny", seed=7)
    pd.testing.assert_frame_equal(again.normal, network.normal)
    pd.testing.assert_frame_equal(again.attack, network.attack)
    pd.testing.assert_frame_equal(again.attacks, network.attacks)
    other = simulate_preset("tiny", seed=8)
    assert not np.allclose(other.normal["1_LT_001_PV"], network.normal["1_LT_001_PV"], equal_nan=True)


def test_encodings(network):
    for frame in (network.normal, network.attack):
        for tag in STATUS_TAGS:
            values = frame[tag].dropna().to_numpy()
            allowed = {0.0, 1.0, 2.0} if "_MV_" in tag else {1.0, 2.0}
            assert set(np.unique(values)) <= allowed, tag
        for tag in SWITCH_TAGS:
            assert set(np.unique(frame[tag].dropna())) <= {0.0, 1.0}, tag
    moved = [t for t in STATUS_TAGS if "_MV_" in t and {1.0, 2.0} <= set(network.normal[t].dropna())]
    assert len(moved) >= 5 and all((network.normal[t] == 0).any() for t in moved)  # valves travel through 0
    switching = [t for t in STATUS_TAGS if network.normal[t].nunique() > 1]
    assert len(switching) >= 15


def test_tank_levels_integrate_their_flows(network):
    # Raw-water tank: utility inflow + return water + recirculation - transfer, at 100 / (3600 * 2.5) %/s per m3/h.
    n = network.normal.ffill()
    net = n["1_FIT_001_PV"] + n["3_FIT_001_PV"] + 1.5 * n["2_MCV_007_CO"] / 100 - n["2_FIT_001_PV"]
    predicted = n["1_LT_001_PV"].iloc[0] + (100 / 9_000) * net.cumsum().shift(1, fill_value=0.0)
    # Level sensors read with slow noise and every value is rounded, so compare over the hour with tolerance.
    assert np.abs(predicted - n["1_LT_001_PV"]).max() < 2.0
    assert n["1_LT_001_PV"].max() - n["1_LT_001_PV"].min() > 5.0  # the tank does move


def test_controllers_keep_levels_and_pressure_in_band(network):
    n = network.normal
    assert n["1_LT_001_PV"].dropna().between(5, 98).all()
    pressure = n["2_PIC_003_PV"].dropna()
    assert abs(pressure.median() - n["2_PIC_003_SP"].median()) < 0.05
    # Consumer inlet valves follow their tanks' high switches: mostly shut while the high switch is on.
    checked = 0
    for c in ("101", "201", "301", "401", "501", "601"):
        high = n[f"2_LS_{c}_AH"] == 1
        if high.sum() > 30:
            checked += 1
            assert (n.loc[high, f"2_MV_{c}_STATUS"] != 2).mean() > 0.5, c
    assert checked >= 2


def test_demand_follows_the_time_of_day():
    day = simulate_wadi_plant(86_400, 3_600, seed=3, n_attacks=4)
    required = day.normal["TOTAL_CONS_REQUIRED_FLOW"]
    hour = day.normal.index.hour
    set_points = day.normal[[f"2_FIC_{c}_SP" for c in ("101", "201", "301", "401", "501", "601")]].mean(axis=1)
    assert set_points[(hour >= 18) & (hour <= 20)].mean() > 1.3 * set_points[(hour >= 2) & (hour <= 4)].mean()
    assert required.max() > 0


def test_labels_match_the_attack_table(network):
    labels = network.attack["label"].to_numpy()
    table = network.attacks
    assert {"number", "kind", "start", "end", "points", "description"} <= set(table.columns)
    assert segments(labels) == list(zip(table["start_row"], table["end_row"], strict=True))
    assert list(table["start"]) == [network.attack.index[i] for i in table["start_row"]]
    assert 0.03 <= labels.mean() <= 0.15
    assert all(p in WADI_TAGS for points in table["points"] for p in points.split(", "))


def test_attacks_have_physical_consequences():
    plant = simulate_wadi_plant(3_600, 20_000, seed=5, n_attacks=16, attack_fraction=0.2)
    attack = plant.attack
    kinds = dict(zip(plant.attacks["description"], plant.attacks.index, strict=True))
    booster = next(i for d, i in kinds.items() if d.startswith("Turn off 2_P_003"))
    row = plant.attacks.loc[booster]
    window = attack.iloc[row["start_row"] + 5: row["end_row"] + 1]
    assert (window["2_P_003_SPEED"] == 0).all() and (window["2_P_004_SPEED"] == 0).all()
    assert window["2_PIT_002_PV"].mean() < 0.5 * attack["2_PIT_002_PV"].median()
    leak = plant.attacks.loc[next(i for d, i in kinds.items() if "leak" in d)]
    window = attack.iloc[leak["start_row"] + 5: leak["end_row"] + 1]
    assert window["LEAK_DIFF_PRESSURE"].mean() > 0.05 > abs(attack["LEAK_DIFF_PRESSURE"].median())
    assert plant.attacks["kind"].nunique() >= 8


def test_a1_schedule_puts_attacks_at_the_table_times():
    plant = simulate_wadi_plant(600, 172_801, seed=1, schedule="a1")
    assert len(plant.attacks) == 14
    assert plant.attacks["start"].iloc[0] == pd.Timestamp("2017-10-09 19:25:00")
    assert plant.attacks["end"].iloc[-1] == pd.Timestamp("2017-10-11 15:37:00")
    assert plant.attack["label"].sum() == 9_948
    with pytest.raises(ValueError, match="the A1 schedule needs the attack file to reach"):
        simulate_wadi_plant(600, 100_000, seed=1, schedule="a1")


def test_written_files_go_through_the_loader(network, tmp_path):
    normal, attack = tmp_path / "WADI_14days.csv", tmp_path / "WADI_attackdata.csv"
    write_wadi_csv(network.normal, normal, "a1_normal", wadi_preamble({"preset": "tiny", "seed": 7}))
    write_wadi_csv(network.attack, attack, "a1_attack")
    table = tmp_path / "attacks.csv"
    network.attacks.to_csv(table, index=False)
    assert len(normal.read_text().splitlines()[0]) > 0 and "SIMULATED" in normal.read_text().splitlines()[0]
    train, test = ingest_wadi(read_wadi_csv(normal), read_wadi_csv(attack, table))
    assert list(train.columns) == [*WADI_CHANNELS, "label"]
    np.testing.assert_array_equal(test["label"].to_numpy(), network.attack["label"].to_numpy())
    np.testing.assert_array_equal(train[list(ANALOG)].to_numpy(), network.normal[list(ANALOG)].to_numpy())


def test_simulated_dataset_writes_each_settings_folder_once(tmp_path):
    normal = SimulatedWadiDataset(directory=str(tmp_path), split="normal", preset="tiny", seed=1)
    attack = SimulatedWadiDataset(directory=str(tmp_path), split="attack", preset="tiny", seed=1)
    first = normal.load()
    folder = tmp_path / "tiny_seed1"
    stamp = (folder / "WADI_14days.csv").stat().st_mtime_ns
    loaded = attack.load()
    assert (folder / "WADI_14days.csv").stat().st_mtime_ns == stamp  # reused, not simulated again
    assert loaded.attrs["attacks"]["source"] == str(folder / "WADI_attacks.csv")
    assert first.attrs["first_line"] == 6 and "attacks" not in first.attrs
    SimulatedWadiDataset(directory=str(tmp_path), split="normal", preset="tiny", seed=2).load()
    assert (tmp_path / "tiny_seed2" / "WADI_14days.csv").exists()
    assert (folder / "WADI_14days.csv").stat().st_mtime_ns == stamp  # another seed's files beside, not over


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown WADI preset"):
        simulate_preset("huge")
    with pytest.raises(ValueError, match="unknown WADI preset parameter"):
        simulate_preset("tiny", n_rows=5)
    with pytest.raises(ValueError, match="too few"):
        simulate_wadi_plant(600, 100, seed=0, n_attacks=5)
