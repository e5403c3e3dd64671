"""Real-data checks: every dataset present in ../shared/data loads through its reader and ingest node with
the row counts, channel counts and anomaly ratios its SOURCE.md states.

../shared/data lies next to the repository (CI clones the repository beside shared/). Each test skips, saying
why, when its folder is absent. Per-entity tables are read from SOURCE.md itself; totals stated in prose
are written here with the SOURCE.md line they come from.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from tsad import settings
from tsad.connectors.entities import EntitySource
from tsad.core.metrics import segments
from tsad.datasets.nab import files as nab
from tsad.datasets.nab.ingest import ingest_nab
from tsad.datasets.smd import files as smd
from tsad.datasets.smd.ingest import ingest_server_machines
from tsad.datasets.telemanom import files as telemanom
from tsad.datasets.telemanom.ingest import ingest_channels
from tsad.datasets.ucr import files as ucr
from tsad.datasets.ucr.ingest import ingest_ucr

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
pytestmark = pytest.mark.realdata


def folder(name: str) -> Path:
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the real-data checks need ../shared/data next to the repository")
    return path


def source_table(path: Path, first_cell: str) -> dict[str, list[str]]:
    """Rows of a markdown table in SOURCE.md whose first cell starts with ``first_cell``, by that cell."""
    rows = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(first_cell):
            rows[cells[0]] = cells[1:]
    return rows


def number(text: str) -> float:
    return float(text.replace(",", ""))


def entity_counts(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby(level="entity", sort=False).size()


def n_segments(labels: np.ndarray) -> int:
    return len(segments(labels)[0])


# --- SMD and ASD ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smd_frames():
    root = folder("SMD")
    return root, ingest_server_machines(smd.machine_source(root, "train", smd.SMD),
                                        smd.machine_source(root, "test", smd.SMD), {})


def check_machine_table(root: Path, prefix: str, frames, complete_marker: str | None) -> None:
    train, test, channel_labels = frames
    table = source_table(root / "SOURCE.md", prefix)
    complete = {name: row for name, row in table.items() if complete_marker is None or row[0] == complete_marker}
    offset = 0 if complete_marker is None else 1
    assert list(entity_counts(train).index) == sorted(complete, key=lambda n: [int(x) for x in re.findall(r"\d+", n)])
    train_rows, test_rows = entity_counts(train), entity_counts(test)
    for name, row in complete.items():
        assert train_rows[name] == number(row[offset]), name
        assert test_rows[name] == number(row[offset + 1]), name
        labels = test.loc[name, "label"].to_numpy()
        assert round(labels.mean(), 4) == pytest.approx(number(row[offset + 2]), abs=1e-4), name
        assert n_segments(labels) == number(row[offset + 3]), name
    # every labelled interval names at least one metric
    assert channel_labels.index.equals(test.index)
    covered = channel_labels.to_numpy().any(axis=1)
    assert covered.sum() >= 0.99 * test["label"].sum()


def test_smd_19_complete_machines_as_source_md_states(smd_frames):
    root, (train, test, channel_labels) = smd_frames
    check_machine_table(root, "machine-", (train, test, channel_labels), complete_marker="yes")
    # SOURCE.md: "Totals (19 complete machines here): train 450,219 rows, test 450,232 rows, anomaly ratio 4.61%,
    # 268 segments."
    assert train.index.get_level_values("entity").nunique() == 19
    assert (len(train), len(test)) == (450_219, 450_232)
    assert round(100 * test["label"].mean(), 2) == 4.61
    assert sum(n_segments(part.to_numpy()) for _, part in test["label"].groupby(level="entity")) == 268
    assert train.shape[1] == 38 and list(channel_labels.columns) == list(train.columns)
    assert train.to_numpy().min() >= 0 and train.to_numpy().max() <= 1.0 + 1e-6  # "min-max scaled to about [0,1]"


def test_smd_machines_with_labels_only_are_named_with_their_missing_file():
    root = folder("SMD")
    source = smd.machine_source(root, "train", smd.SMD)
    assert len(source.missing) == 9 and "machine-1-1" in source.missing
    assert "train/machine-1-1.txt" in source.missing["machine-1-1"]


def test_asd_12_entities_as_source_md_states():
    root = folder("ASD")
    frames = ingest_server_machines(smd.machine_source(root, "train", smd.ASD),
                                    smd.machine_source(root, "test", smd.ASD), {})
    check_machine_table(root, "omi-", frames, complete_marker=None)
    train, test, _ = frames
    # SOURCE.md: "Totals: train 102,331 rows, test 51,840 rows, anomaly ratio 4.61%, 76 segments."
    assert (len(train), len(test), train.shape[1]) == (102_331, 51_840, 19)
    assert round(100 * test["label"].mean(), 2) == 4.61


# --- MSL and SMAP -----------------------------------------------------------------------------------------------


def telemanom_frames(spacecraft: str, **options):
    root = folder("MSL_SMAP")
    return ingest_channels(telemanom.channel_source(root, "train", spacecraft),
                           telemanom.channel_source(root, "test", spacecraft), options)


def test_msl_and_smap_totals_as_source_md_states():
    root = folder("MSL_SMAP")
    table = source_table(root / "SOURCE.md", "MSL") | source_table(root / "SOURCE.md", "SMAP")
    labels = telemanom.read_labeled_anomalies(root / "labeled_anomalies.csv")
    for spacecraft, channels, dims in (("MSL", 27, 55), ("SMAP", 54, 25)):
        train, test = telemanom_frames(spacecraft)
        row = table[spacecraft]  # channels labelled | dims | train rows | test rows | sequences | ratio
        assert train.index.get_level_values("entity").nunique() == channels
        assert train.shape[1] == test.shape[1] - 1 == dims == number(row[1])
        assert len(train) == number(row[2].split()[0]) and len(test) == number(row[3].split()[0])
        sequences = sum(len(v.sequences) for v in labels.values() if v.spacecraft == spacecraft)
        assert sequences == number(row[4])
        assert round(100 * test["label"].mean(), 1) == number(row[5].rstrip("%"))
        assert set(np.unique(train.iloc[:, 1:].to_numpy())) <= {0.0, 1.0}  # one-hot commands
    # SOURCE.md: "the commonly quoted SMAP totals (train 135,183 / test 427,617) exclude P-2" (53 channels)
    train, test = telemanom_frames("SMAP", exclude=["P-2"])
    assert (train.index.get_level_values("entity").nunique(), len(train), len(test)) == (53, 135_183, 427_617)


# --- NAB --------------------------------------------------------------------------------------------------------


def test_nab_series_and_windows_as_source_md_states():
    root = folder("NAB")
    source = nab.series_source(root)
    frames = {name: read() for name, read in source.readers.items()}
    # SOURCE.md: "58 series, 365,558 points total"; "116 windows over 58 files"; "overall 9.2% of 365,558 points"
    assert len(frames) == 58 and sum(map(len, frames.values())) == 365_558
    windows = nab.read_windows(root / nab.WINDOWS_FILE)
    assert sum(map(len, windows.values())) == 116
    labels = np.concatenate([f["label"].to_numpy() for f in frames.values()])
    assert round(100 * labels.mean(), 1) == 9.2
    # the realKnownCause table: file | rows | interval | windows | window ratio
    for name, row in source_table(root / "SOURCE.md", "").items():
        if not name.endswith(".csv") or len(row) != 4:
            continue
        frame = frames[f"realKnownCause/{name.removesuffix('.csv')}"]
        assert len(frame) == number(row[0]), name
        assert len(windows[f"realKnownCause/{name}"]) == number(row[2]), name
        assert round(frame["label"].mean(), 3) == pytest.approx(number(row[3]), abs=1e-3), name
    empty = [n for n, f in frames.items() if f["label"].sum() == 0]
    assert len(empty) == 6 and sum(n.startswith("artificialNoAnomaly/") for n in empty) == 5
    train, test = ingest_nab(source, source, {"entities": ["real*/*"], "train_fraction": 0.15})
    assert train.index.get_level_values("entity").nunique() == 47
    assert len(train) + len(test) == sum(len(f) for n, f in frames.items() if n.startswith("real"))


# --- UCR --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ucr_frames():
    root = folder("UCR_Anomaly") / "UCR_Anomaly_FullData"
    return ingest_ucr(ucr.archive_source(root, "train"), ucr.archive_source(root, "test"), {})


def test_ucr_series_as_source_md_states(ucr_frames):
    train, test = ucr_frames
    # SOURCE.md: "234 series here: length 6,684 .. 250,001 (median 30,000), 12.77 M points in total; exactly
    # 1 anomaly per series, anomaly length 1 .. 1,181 (median 101); mean anomaly ratio 0.6%."
    lengths = entity_counts(train) + entity_counts(test)
    assert len(lengths) == 234 and lengths.sum() == 12_773_386
    assert (lengths.min(), lengths.max(), lengths.median()) == (6_684, 250_001, 30_000)
    assert train["label"].sum() == 0
    per_series = test["label"].groupby(level="entity", sort=False)
    assert all(n_segments(part.to_numpy()) == 1 for _, part in per_series)
    anomaly_lengths = per_series.sum()
    assert (anomaly_lengths.min(), anomaly_lengths.max(), anomaly_lengths.median()) == (1, 1_181, 101)
    assert round(100 * (anomaly_lengths / lengths).mean(), 1) == 0.6


@pytest.mark.parametrize("entity", ["005_DISTORTEDCIMIS44AirTemperature1", "077_DISTORTEDresperation11",
                                    "092_DISTORTEDtiltAPB4", "113_CIMIS44AirTemperature1", "185_resperation11"])
def test_ucr_one_based_convention_puts_visible_spikes_first_in_the_anomaly(ucr_frames, entity):
    """On these files the anomaly is one visible spike; the archive's 1-based start is exactly that row."""
    _, test = ucr_frames
    series = test.loc[entity]
    labelled = series.index[series["label"].to_numpy() == 1]
    around = series["value"].loc[labelled[0] - 20: labelled[-1] + 20]
    jump = (around - around.rolling(9, center=True, min_periods=1).median()).abs()
    assert jump.idxmax() == labelled[0]


# --- the catalog with the "shared" environment ------------------------------------------------------------------


def test_the_shared_environment_reads_shared_data(monkeypatch):
    folder("MSL_SMAP")
    monkeypatch.chdir(REPO)  # data_root ../shared/data is relative to the project root, as kedro run uses it
    loader = OmegaConfigLoader(str(REPO / "conf"), **{**settings.CONFIG_LOADER_ARGS, "default_run_env": "shared"})
    catalog = DataCatalog.from_config(loader["catalog"])
    source = catalog.load("msl.source_test")
    assert isinstance(source, EntitySource) and len(source.readers) == 27
    assert Path(source.location.split(" (")[0]).resolve() == (SHARED / "MSL_SMAP").resolve()
