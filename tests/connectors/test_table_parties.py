"""A dataset declared with ``parties``: each party's own files, read by the table reader and aligned on their
timestamps (``tsad.connectors.table.parties``); the rows dropped are counted in the notes and the metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsad.connectors.table.ingest import ingest_parties
from tsad.connectors.table.source_spec import table_spec
from tsad.connectors.table.sources import table_model_input, table_source
from tsad.core.errors import DataFormatError

LABEL = {"column": "state", "anomaly": ["Attack"], "normal": ["Normal"]}


def party_file(path, columns: list[str], *, n: int = 60, start: str = "2024-01-01", offset: str = "0s",
               drop: tuple[int, ...] = (), attack: tuple[int, int] | None = None) -> None:
    """One party's export: a text time column (its clock ``offset`` late), its channels, optionally a label."""
    rng = np.random.default_rng(len(columns) + n)
    times = pd.date_range(start, periods=n, freq="min") + pd.Timedelta(offset)
    frame = pd.DataFrame(rng.normal(size=(n, len(columns))).round(4), columns=columns)
    frame.insert(0, "time", times.strftime("%Y-%m-%d %H:%M:%S"))
    if attack is not None:
        frame["state"] = np.where((np.arange(n) >= attack[0]) & (np.arange(n) < attack[1]), "Attack", "Normal")
    frame.drop(index=list(drop)).to_csv(path, index=False)


def ingest(source: dict):
    spec = table_spec(source, "plant")
    return ingest_parties(table_source(spec, "train"), table_source(spec, "test"))


def test_parties_are_aligned_per_split_and_their_dropped_rows_counted(tmp_path, caplog):
    for split, start in (("train", "2024-01-01"), ("test", "2024-01-02")):
        party_file(tmp_path / f"utility_{split}.csv", ["flow", "level"], start=start,
                   attack=(10, 20) if split == "test" else None)
        party_file(tmp_path / f"contractor_{split}.csv", ["valve"], start=start, drop=(3, 7, 8) if split == "train"
                   else (40,), attack=(30, 35) if split == "test" else None)  # rows it lacks; its own label
        party_file(tmp_path / f"vendor_{split}.csv", ["pressure"], start=start, offset="20s")  # its clock is late
    source = {"parties": {p: {"train": str(tmp_path / f"{p}_train.csv"), "test": str(tmp_path / f"{p}_test.csv")}
                          for p in ("utility", "contractor", "vendor")},
              "alignment": {"tolerance": "30s"}, "timestamp": "time", "label": LABEL}
    with caplog.at_level("INFO", logger="tsad.connectors.table.ingest"):
        train, test, metrics = ingest(source)
    assert list(train.columns) == ["flow", "level", "valve", "pressure"] and len(train) == 57 and len(test) == 59
    assert list(test.columns) == ["flow", "level", "valve", "pressure", "label"]
    assert test["label"].sum() == 10 + 5 and pd.Timestamp("2024-01-02 00:40") not in test.index  # labels OR-ed
    assert {k: v["value"] for k, v in metrics.items()} == {
        "train.dropped.utility": 3, "train.dropped.contractor": 0, "train.dropped.vendor": 3,
        "test.dropped.utility": 1, "test.dropped.contractor": 0, "test.dropped.vendor": 1}
    assert train.attrs["parties"] == {"utility": ["flow", "level"], "contractor": ["valve"], "vendor": ["pressure"]}
    (note,) = [n for n in train.attrs["notes"] if "matched" in n]
    assert "within 30s: 57 kept" in note and "utility 3, contractor 0, vendor 3" in note
    assert "train rows dropped by the alignment of the parties: utility 3, contractor 0, vendor 3" in caplog.text
    exact = dict(source, alignment={"tolerance": None})  # the vendor's late clock matches nothing exactly
    with pytest.raises(DataFormatError, match=r"no time of party 'utility' matches exactly .*alignment.tolerance"):
        ingest(exact)


def test_parties_split_in_time_are_cut_at_one_time_and_entities_need_every_party(tmp_path):
    for party, columns, entities in (("utility", ["flow"], ("a", "b")), ("vendor", ["pressure"], ("a",))):
        (tmp_path / party).mkdir()
        for entity in entities:
            party_file(tmp_path / party / f"{entity}.csv", columns, n=40, drop=(1,) if party == "vendor" else ())
    source = {"parties": {p: {"train": str(tmp_path / p)} for p in ("utility", "vendor")}, "timestamp": "time",
              "split": {"fraction": 0.5}}
    train, test, metrics = ingest(source)
    assert list(train.index.unique("entity")) == ["a"]  # b has no vendor file
    assert train.index.get_level_values("timestamp").max() < pd.Timestamp("2024-01-01 00:20")
    assert test.index.get_level_values("timestamp").min() == pd.Timestamp("2024-01-01 00:20")
    assert metrics["train.dropped.utility"]["value"] == 1 and metrics["test.dropped.utility"]["value"] == 0
    new = table_model_input(table_spec(source, "plant"))  # new data: every party's files, aligned
    assert list(new.columns) == ["entity", "timestamp", "flow", "pressure"] and len(new) == 39


def test_bad_parties_name_the_party_and_the_file(tmp_path):
    party_file(tmp_path / "utility.csv", ["flow", "level"])
    party_file(tmp_path / "vendor.csv", ["level"])
    source = {"parties": {"utility": {"train": str(tmp_path / "utility.csv")},
                          "vendor": {"train": str(tmp_path / "vendor.csv")}},
              "timestamp": "time", "split": {"fraction": 0.5}}
    with pytest.raises(DataFormatError, match=r"vendor.csv: column 'level' of party 'vendor' is also a channel of "
                                              r"party 'utility' \(.*utility.csv\)"):
        ingest(source)
    with pytest.raises(ValueError, match=r"datasets.plant.source.parties.vendor: party 'vendor' has no files"):
        table_spec(dict(source, parties={"utility": {"train": "u.csv"}, "vendor": {}}), "plant")
    with pytest.raises(ValueError, match=r"\['train'\] and parties exclude each other"):
        table_spec(dict(source, train="u.csv"), "plant")
    with pytest.raises(ValueError, match=r"parties.utility: no test files, but party 'vendor' has some"):
        table_spec(dict(source, parties={"utility": {"train": "u.csv"}, "vendor": {"train": "v", "test": "w"}}),
                   "plant")
    with pytest.raises(ValueError, match=r"source.alignment.tolerance must be a duration"):
        table_spec(dict(source, alignment={"tolerance": "soon"}), "plant")
    missing = dict(source, parties={"utility": {"train": str(tmp_path / "utility.csv")},
                                    "vendor": {"train": str(tmp_path / "gone.csv")}})
    with pytest.raises(DataFormatError, match=r"gone.csv: file not found \(datasets.plant.source.parties.vendor.train"):
        ingest(missing)
