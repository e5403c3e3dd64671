"""``data_psm``, ``data_kddcup99`` and ``data_cicids2017`` through a Kedro session on tiny files the test writes
under a temporary ``data_root``: the catalog entries, parameters and ingest nodes fit together, and a missing
file stops the run with an error that names it and says what to do."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.io import DatasetError

from tsad.datasets.cicids2017.files import CICIDS_FEATURES
from tsad.datasets.kddcup99.files import NUMERIC

pytestmark = pytest.mark.slow


def run(project: Path, pipeline: str, data_root: Path) -> None:
    with KedroSession.create(project_path=project, runtime_params={"data_root": str(data_root)}) as session:
        session.run(pipeline_names=[pipeline])


def latest(project: Path, relative: str) -> pd.DataFrame:
    return pd.read_parquet(max((project / relative).rglob("*.parquet")))


def write_psm(folder: Path, n_train: int = 300, n_test: int = 200) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    t = np.arange(n_train + n_test)
    values = np.sin(t[:, None] / 20 + np.arange(25)) + 0.05 * rng.normal(size=(len(t), 25))
    values[n_train + 80: n_train + 100] += 2.0
    frame = pd.DataFrame(values, columns=[f"feature_{i}" for i in range(25)])
    frame.insert(0, "timestamp_(min)", t.astype(float))
    frame.iloc[10, 3] = np.nan
    frame.iloc[:n_train].to_csv(folder / "train.csv", index=False)
    frame.iloc[n_train:].to_csv(folder / "test.csv", index=False)
    labels = np.zeros(n_test, dtype=int)
    labels[80:100] = 1
    pd.DataFrame({"timestamp_(min)": t[n_train:].astype(float), "label": labels}).to_csv(folder / "test_label.csv",
                                                                                       index=False)


def write_kdd(folder: Path) -> None:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    for name, n, attack_share in (("kddcup.data_10_percent.gz", 400, 0.5), ("corrected.gz", 300, 0.6)):
        lines = []
        for _ in range(n):
            attack = rng.random() < attack_share
            numbers = rng.integers(0, 50, len(NUMERIC)) + (400 if attack else 0)
            protocol = str(rng.choice(["tcp", "udp", "icmp"]))
            fields = [str(numbers[0]), protocol, str(rng.choice(["http", "smtp", "private"])), "SF",
                      *map(str, numbers[1:])]
            lines.append(",".join([*fields, "smurf." if attack else "normal."]))
        with gzip.open(folder / name, "wt") as handle:
            handle.write("\n".join(lines) + "\n")


def write_cicids(folder: Path) -> None:
    rng = np.random.default_rng(2)
    folder.mkdir(parents=True)
    names = list(CICIDS_FEATURES)
    names.insert(names.index("Avg Bwd Segment Size") + 1, "Fwd Header Length")
    header = ",".join(f" {n}" for n in names) + ", Label"
    for name, labels in (("Monday-WorkingHours.pcap_ISCX.csv", ["BENIGN"] * 300),
                         ("Friday-WorkingHours-Afternoon-DDos.pcap_ISCX.csv", ["BENIGN"] * 150 + ["DDoS"] * 50)):
        values = rng.integers(0, 1000, size=(len(labels), len(names))).astype(float)
        if "Friday" in name:
            values[-50:] += 5_000  # the DDoS flows
        rows = [",".join(f"{v:g}" for v in row) + f",{label}" for row, label in zip(values, labels, strict=True)]
        flow_bytes = names.index("Flow Bytes/s")
        for i in (5, 9):
            cells = rows[i].split(",")
            cells[flow_bytes] = "Infinity"
            rows[i] = ",".join(cells)
        (folder / name).write_text("\n".join([header, *rows]) + "\n")


def test_data_psm_from_files_under_data_root(project, tmp_path):
    write_psm(tmp_path / "root" / "PSM")
    run(project, "data_psm", tmp_path / "root")
    raw_test = latest(project, "data/01_raw/psm/raw_test.parquet")
    assert raw_test.index.name == "step" and "timestamp_(min)" not in raw_test.columns
    assert raw_test.shape == (200, 26) and raw_test["label"].sum() == 20
    report = json.loads(max((project / "data/02_intermediate/psm/cleaning_report.json").rglob("*.json")).read_text())
    assert report["filled"]  # the NaN cell was carried over under nan_policy: fill


def test_data_kddcup99_from_files_under_data_root(project, tmp_path):
    write_kdd(tmp_path / "root" / "KDDCup99")
    run(project, "data_kddcup99", tmp_path / "root")
    raw_train = latest(project, "data/01_raw/kddcup99/raw_train.parquet")
    raw_test = latest(project, "data/01_raw/kddcup99/raw_test.parquet")
    assert (raw_train["label"] == 0).all() and 0.4 < raw_test["label"].mean() < 0.8
    assert {"protocol_type=tcp", "service=http", "flag=SF"} <= set(raw_train.columns)


def test_data_cicids2017_from_files_under_data_root(project, tmp_path):
    write_cicids(tmp_path / "root" / "CICIDS2017")
    run(project, "data_cicids2017", tmp_path / "root")
    raw_train = latest(project, "data/01_raw/cicids2017/raw_train.parquet")
    raw_test = latest(project, "data/01_raw/cicids2017/raw_test.parquet")
    assert raw_train.shape[1] == 78 and raw_test["label"].sum() == 50
    assert raw_train["Flow Bytes/s"].isna().sum() == 2  # inf became NaN for the cleaning policy
    report = json.loads(max((project / "data/02_intermediate/cicids2017/cleaning_report.json")
                            .rglob("*.json")).read_text())
    assert sum(report["filled"]["training data"].values()) == 2


def test_missing_psm_files_say_what_to_do(project, tmp_path):
    with pytest.raises(DatasetError, match=r"PSM/train.csv: file not found. PSM is not shipped with tsad"):
        run(project, "data_psm", tmp_path / "empty_root")
    assert not (project / "data" / "01_raw" / "psm").exists()
