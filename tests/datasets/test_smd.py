"""SMD and ASD folders as distributed: tiny machines written by the tests, the interval conventions, entity
selection, every bad-input case, and pca_smd end to end through a Kedro session."""

from __future__ import annotations

import gzip
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession

from tsad.core.errors import DataFormatError
from tsad.datasets.smd import files as smd
from tsad.datasets.smd.ingest import ingest_server_machines

CHANNELS = 38


@contextmanager
def captured_logs(name: str = "tsad") -> Iterator[list[str]]:
    """Messages logged under ``name`` (works with ``-p no:logging``, where pytest's caplog is absent)."""
    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def write_machine(root: Path, machine: str, *, n_train: int = 120, n_test: int = 100, seed: int = 0,
                  intervals: tuple[tuple[int, int, tuple[int, ...]], ...] = ((10, 15, (1, 3)), (40, 41, (38,))),
                  n_channels: int = CHANNELS, gz: bool = True, inclusive: bool = False) -> dict[str, np.ndarray]:
    """Write one machine in SMD's layout; ``intervals`` are (start, end, dims) with ``end`` as the format writes it.

    Returns the values and labels the files hold.
    """
    rng = np.random.default_rng(seed)
    train = np.round(rng.uniform(0, 1, (n_train, n_channels)), 6)
    test = np.round(rng.uniform(0, 1, (n_test, n_channels)), 6)
    labels = np.zeros(n_test, dtype=np.int8)
    per_channel = np.zeros((n_test, n_channels), dtype=np.int8)
    lines = []
    for start, end, dims in intervals:
        stop = end + 1 if inclusive else end
        labels[start:stop] = 1
        per_channel[start:stop, np.array(dims) - 1] = 1
        lines.append(f"{start}-{end}:{','.join(map(str, dims))}")
    suffix = ".txt.gz" if gz else ".txt"
    for split, values in (("train", train), ("test", test)):
        (root / split).mkdir(parents=True, exist_ok=True)
        text = "\n".join(",".join(f"{v:.6f}" for v in row) for row in values) + "\n"
        path = root / split / f"{machine}{suffix}"
        path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    (root / "test_label").mkdir(exist_ok=True)
    (root / "test_label" / f"{machine}.txt").write_text("\n".join(map(str, labels)) + "\n")
    (root / "interpretation_label").mkdir(exist_ok=True)
    (root / "interpretation_label" / f"{machine}.txt").write_text("\n".join(lines) + "\n")
    return {"train": train, "test": test, "labels": labels, "per_channel": per_channel}


@pytest.fixture
def smd_root(tmp_path) -> Path:
    root = tmp_path / "SMD"
    write_machine(root, "machine-1-2", seed=1)
    write_machine(root, "machine-1-10", seed=2, gz=False)
    write_machine(root, "machine-2-1", seed=3)
    return root


def ingest(root: Path, fmt: smd.ServerMachineFormat = smd.SMD, **options):
    return ingest_server_machines(smd.machine_source(root, "train", fmt), smd.machine_source(root, "test", fmt),
                                  options)


def test_machines_are_typed_with_point_and_per_metric_labels(tmp_path):
    root = tmp_path / "SMD"
    truth = {m: write_machine(root, m, seed=i, gz=i % 2 == 0) for i, m in enumerate(["machine-1-2", "machine-1-10"])}
    train, test, channel_labels = ingest(root)
    assert train.index.names == ["entity", "step"] and test.index.names == ["entity", "step"]
    assert list(train.index.get_level_values("entity").unique()) == ["machine-1-2", "machine-1-10"]  # natural order
    assert list(train.columns) == [f"dim_{i:02d}" for i in range(1, 39)] and "label" not in train.columns
    assert list(test.columns) == [*train.columns, "label"]
    assert all(train[c].dtype == np.float32 for c in train.columns) and test["label"].dtype == np.int8
    for machine, expected in truth.items():
        np.testing.assert_array_equal(train.loc[machine].to_numpy(), expected["train"].astype(np.float32))
        np.testing.assert_array_equal(test.loc[machine, "label"].to_numpy(), expected["labels"])
        np.testing.assert_array_equal(channel_labels.loc[machine].to_numpy(), expected["per_channel"])
        assert test.loc[machine].index.tolist() == list(range(100))
    assert channel_labels.index.equals(test.index) and list(channel_labels.columns) == list(train.columns)
    assert all(channel_labels[c].dtype == np.int8 for c in channel_labels.columns)
    # end exclusive: "10-15:1,3" marks rows 10..14 of metrics 1 and 3 only
    marked = channel_labels.loc["machine-1-2"]
    assert marked.loc[10:14, ["dim_01", "dim_03"]].to_numpy().all() and marked.loc[15].sum() == 0
    assert marked.loc[10:14, "dim_02"].sum() == 0


def test_asd_intervals_end_inclusive(tmp_path):
    root = tmp_path / "ASD"
    expected = write_machine(root, "omi-1", n_channels=19, inclusive=True, intervals=((10, 15, (2,)),))
    _, test, channel_labels = ingest(root, smd.ASD)
    assert list(test.columns) == [*(f"dim_{i:02d}" for i in range(1, 20)), "label"]
    assert channel_labels.loc["omi-1", "dim_02"].loc[10:15].all() and channel_labels.loc["omi-1"].loc[16].sum() == 0
    np.testing.assert_array_equal(test.loc["omi-1", "label"].to_numpy(), expected["labels"])
    with pytest.raises(DataFormatError, match="values per line, expected 38"):  # an ASD folder read as SMD
        ingest(root, smd.SMD)


def test_interpretation_disagreeing_with_test_label_is_logged_and_test_label_wins(smd_root):
    labels_path = smd_root / "test_label" / "machine-1-2.txt"
    labels = labels_path.read_text().split()
    labels[50] = "1"
    labels_path.write_text("\n".join(labels) + "\n")
    with captured_logs() as logs:
        _, test, channel_labels = ingest(smd_root)
    assert test.loc[("machine-1-2", 50), "label"] == 1 and channel_labels.loc[("machine-1-2", 50)].sum() == 0
    assert any("mark 1 rows differently" in m for m in logs)


def test_entity_subset_patterns_and_exclude(smd_root):
    train, _, _ = ingest(smd_root, entities=["machine-1-*"], exclude=["machine-1-10"])
    assert list(train.index.get_level_values("entity").unique()) == ["machine-1-2"]
    train, _, _ = ingest(smd_root, entities=["machine-2-1", "machine-1-2"])
    assert list(train.index.get_level_values("entity").unique()) == ["machine-1-2", "machine-2-1"]
    train, _, _ = ingest(smd_root, entities="machine-2-1  machine-1-1*")  # --params form: names split by spaces
    assert list(train.index.get_level_values("entity").unique()) == ["machine-1-10", "machine-2-1"]


def test_machines_with_labels_only_are_skipped_unless_named(smd_root):
    shutil.copy(smd_root / "test_label" / "machine-1-2.txt", smd_root / "test_label" / "machine-3-1.txt")
    with captured_logs() as logs:
        train, _, _ = ingest(smd_root)
    assert "machine-3-1" not in set(train.index.get_level_values("entity"))
    assert any("machine-3-1" in m and "lack data files" in m for m in logs)
    expected = r"machine-3-1 is named in ingestion.entities but .*/train/machine-3-1\.txt \(or \.txt\.gz\)"
    with pytest.raises(DataFormatError, match=expected):
        ingest(smd_root, entities=["machine-3-1"])
    train, _, _ = ingest(smd_root, entities=["machine-*"])  # a pattern takes only complete machines
    assert train.index.get_level_values("entity").nunique() == 3


def test_unknown_entity_or_empty_selection_is_an_error(smd_root):
    with pytest.raises(DataFormatError, match="'machine-9-9', which matches no entity"):
        ingest(smd_root, entities=["machine-9-9"])
    with pytest.raises(DataFormatError, match="'omi-\\*', which matches no entity"):
        ingest(smd_root, entities=["omi-*"])
    with pytest.raises(DataFormatError, match="exclude names 'machine-9-9'"):
        ingest(smd_root, exclude=["machine-9-9"])
    with pytest.raises(DataFormatError, match="no entity selected"):
        ingest(smd_root, exclude=["machine-*"])
    with pytest.raises(DataFormatError, match="no entity selected"):
        ingest(smd_root, entities=[])
    with pytest.raises(DataFormatError, match="must be a list"):
        ingest(smd_root, entities={"machine-1-2": True})


def rewrite_line(path: Path, number: int, new: str) -> None:
    """Replace 1-based line ``number`` of a plain or gzipped text file."""
    raw = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    lines = raw.splitlines()
    lines[number - 1] = new
    text = "\n".join(lines) + "\n"
    path.write_bytes(gzip.compress(text.encode())) if path.suffix == ".gz" else path.write_text(text)


@pytest.mark.parametrize("line, message", [
    (",".join(["0.5"] * 37), r"line 7: 37 values, expected 38"),
    (",".join(["0.5"] * 39), r"line 7: 39 values, expected 38"),
    (",".join(["0.5"] * 37 + ["x"]), r"line 7, column 38: 'x' is not a number"),
    (",".join(["0.5"] * 37 + [""]), r"line 7, column 38: '' is not a number"),
])
def test_a_malformed_row_names_file_and_line(smd_root, line, message):
    path = smd_root / "test" / "machine-2-1.txt.gz"
    rewrite_line(path, 7, line)
    with pytest.raises(DataFormatError, match=rf"{path}: {message}"):
        ingest(smd_root)


def test_a_file_with_another_column_count_throughout(tmp_path):
    root = tmp_path / "SMD"
    write_machine(root, "machine-1-1", n_channels=19, intervals=((10, 15, (1, 3)),))
    with pytest.raises(DataFormatError, match=r"machine-1-1\.txt\.gz: 19 values per line, expected 38"):
        ingest(root)


def test_empty_data_file(smd_root):
    path = smd_root / "train" / "machine-1-10.txt"
    path.write_text("")
    with pytest.raises(DataFormatError, match=rf"{path}: the file is empty"):
        ingest(smd_root)


def test_missing_or_wrong_label_files(smd_root):
    labels = smd_root / "test_label" / "machine-1-2.txt"
    text = labels.read_text()
    labels.write_text(text + "0\n")
    with pytest.raises(DataFormatError, match=rf"{labels}: 101 labels, but .*machine-1-2.txt.gz has 100 rows"):
        ingest(smd_root)
    labels.write_text(text.replace("1", "2", 1))
    with pytest.raises(DataFormatError, match=rf"{labels}: line 11: '2' is not a label 0 or 1"):
        ingest(smd_root)
    labels.unlink()
    with pytest.raises(DataFormatError, match=rf"{labels}: label file not found"):
        ingest(smd_root)


@pytest.mark.parametrize("line, message", [
    ("10-15 1,3", r"line 1: cannot parse '10-15 1,3'"),
    ("ten-15:1", r"line 1: cannot parse"),
    ("15-10:1", r"line 1: interval 15-10 \(exclusive end\) is empty or outside the 100 test rows"),
    ("90-101:1", r"line 1: interval 90-101 .* outside the 100 test rows"),
    ("10-15:0,3", r"line 1: metric numbers must be in 1..38, got 0,3"),
    ("10-15:39", r"line 1: metric numbers must be in 1..38"),
])
def test_unparseable_or_impossible_intervals(smd_root, line, message):
    path = smd_root / "interpretation_label" / "machine-1-10.txt"
    rewrite_line(path, 1, line)
    with pytest.raises(DataFormatError, match=rf"{path}: {message}"):
        ingest(smd_root)


def test_missing_interpretation_file_root_or_ambiguous_files(smd_root, tmp_path):
    path = smd_root / "interpretation_label" / "machine-2-1.txt"
    path.unlink()
    with pytest.raises(DataFormatError, match=rf"{path}: interpretation label file not found"):
        ingest(smd_root)
    with pytest.raises(DataFormatError, match="no such folder"):
        smd.machine_source(tmp_path / "nowhere", "train", smd.SMD)
    shutil.copy(smd_root / "train" / "machine-1-10.txt", smd_root / "train" / "machine-1-10.txt.gz")
    with pytest.raises(DataFormatError, match="both machine-1-10.txt and machine-1-10.txt.gz exist"):
        smd.machine_source(smd_root, "train", smd.SMD)


# --- end to end through a Kedro session -------------------------------------------------------------------


def versions(folder: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(folder)): sorted(v.name for v in p.iterdir())
            for p in folder.rglob("*.parquet") if p.is_dir()}


@pytest.mark.slow
def test_pca_smd_reports_every_machine_and_the_mean_and_a_bad_file_writes_nothing(project):
    data_root = project / "elsewhere"  # not data/01_raw: the data root is a runtime parameter
    for i, machine in enumerate(["machine-1-1", "machine-1-2", "machine-2-1"]):
        write_machine(data_root / "SMD", machine, n_train=400, n_test=300, seed=i,
                      intervals=((100, 130, (1, 2)), (200, 210, (5,))))
    with KedroSession.create(project_path=project, runtime_params={"data_root": str(data_root)}) as session:
        session.run(pipeline_names=["pca_smd"])
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    run = client.search_runs([client.get_experiment_by_name("tsad").experiment_id],
                             filter_string="attributes.run_name = 'pca_smd'")[0]
    metrics = run.data.metrics
    per_machine = [metrics[f"pca.entity.{m}.roc_auc"] for m in ("machine-1-1", "machine-1-2", "machine-2-1")]
    assert metrics["pca.roc_auc"] == pytest.approx(np.mean(per_machine))
    assert metrics["pca.entities_evaluated"] == 3
    assert run.data.params["data.smd.ingestion.entities"] == "None"
    raw = pd.read_parquet(next((project / "data/01_raw/smd/raw_test.parquet").rglob("*.parquet")))
    labels = pd.read_parquet(next((project / "data/01_raw/smd/channel_labels_test.parquet").rglob("*.parquet")))
    assert raw.index.names == ["entity", "step"] and labels.index.equals(raw.index)
    assert int(labels.to_numpy().sum()) == 3 * (30 * 2 + 10)

    before = versions(project / "data")
    rewrite_line(data_root / "SMD" / "test" / "machine-2-1.txt.gz", 5, "0.1,0.2")
    with pytest.raises(DataFormatError, match=r"machine-2-1\.txt\.gz: line 5: 2 values, expected 38"):
        with KedroSession.create(project_path=project, runtime_params={"data_root": str(data_root)}) as session:
            session.run(pipeline_names=["data_smd"])
    assert versions(project / "data") == before

    runtime = {"data_root": str(data_root), "datasets": {"smd": {"ingestion": {"entities": ["machine-1-2"]}}}}
    with KedroSession.create(project_path=project, runtime_params=runtime) as session:
        session.run(pipeline_names=["data_smd"])
    newest = max((project / "data/01_raw/smd/raw_train.parquet").iterdir())
    subset = pd.read_parquet(next(newest.rglob("*.parquet")))
    assert list(subset.index.get_level_values("entity").unique()) == ["machine-1-2"]
