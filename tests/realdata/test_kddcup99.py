"""KDD Cup 99 as it is in ../shared/data/KDDCup99: the row counts, class counts and anomaly ratio its
SOURCE.md states, through the same reader and ingest node the pipeline uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsad.datasets.kddcup99.files import KDD_FEATURES, read_kddcup_file, record_classes
from tsad.datasets.kddcup99.ingest import ingest_kddcup99

REPO_ROOT = Path(__file__).resolve().parents[2]
KDD = REPO_ROOT.parent / "shared" / "data" / "KDDCup99"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not (KDD / "kddcup.data_10_percent.gz").exists() or not (KDD / "corrected.gz").exists(),
                       reason=f"real data absent: {KDD} (the team's ../shared/data next to the repository) has no "
                              "kddcup.data_10_percent.gz and corrected.gz"),
]


@pytest.fixture(scope="module")
def sources():
    return read_kddcup_file(KDD / "kddcup.data_10_percent.gz"), read_kddcup_file(KDD / "corrected.gz")


def test_counts_in_source_md(sources):
    train, test = sources
    assert len(train) == 494_021 and len(test) == 311_029
    assert train.shape[1] == len(KDD_FEATURES) + 1 == 42
    train_classes, test_classes = record_classes(train), record_classes(test)
    assert (train_classes == "normal").sum() == 97_278
    assert (train_classes == "smurf").sum() == 280_790 and (train_classes == "neptune").sum() == 107_201
    assert (test_classes == "normal").sum() == 60_593
    # "includes attack types absent from training"
    assert set(test_classes) - set(train_classes)


def test_ingested_splits(sources):
    train, test = ingest_kddcup99(*sources)
    assert len(train) == 97_278 and (train["label"] == 0).all()
    assert len(test) == 311_029
    assert round(float(test["label"].mean()), 4) == round(1 - 60_593 / 311_029, 4) == 0.8052
    assert list(train.columns) == list(test.columns)
    features = [c for c in train.columns if c != "label"]
    assert all(train[c].dtype == np.float32 for c in features)
    assert len(features) == 38 + train.filter(like="=").shape[1]
