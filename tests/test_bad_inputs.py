"""Bad inputs through a declared dataset and through the SWaT reader, each in a whole ``pca_<ds>`` run in-process:
every one is refused naming the file (and the column and row where the fault has them), and afterwards the
``data/`` tree and the registered model versions are exactly as they were (a refused input writes nothing)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import make_project, synthetic_series
from kedro.framework.session import KedroSession

from tsad.core.errors import DataFormatError
from tsad.datasets.swat.files import write_swat_csv
from tsad.simulators.swat_plant import simulate_preset

pytestmark = pytest.mark.slow

LINE = {"timestamp": "time", "label": {"column": "alarm", "anomaly": [1], "normal": [0]}}


def line_export(frame: pd.DataFrame) -> pd.DataFrame:
    """A typed synthetic series as a historian's CSV: ``time``, the channels ``a``..``e``, ``alarm``."""
    out = frame.drop(columns="label").rename(columns=dict(zip(frame.columns[:-1], "abcde", strict=True)))
    out.insert(0, "time", frame.index.strftime("%Y-%m-%d %H:%M:%S"))
    out["alarm"] = frame["label"].to_numpy()
    return out.reset_index(drop=True)


@pytest.fixture(scope="module")
def bad_input_project(tmp_path_factory):
    """A project where ``pca_line`` (a declared CSV dataset) and ``pca_swat`` (SWaT exports) have run once."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        project = make_project(tmp_path_factory.mktemp("bad_inputs"), monkeypatch)
        files = project / "files"
        files.mkdir()
        line_export(synthetic_series(600, seed=1, anomalies=False)).to_csv(files / "train.csv", index=False)
        line_export(synthetic_series(600, seed=2, start="2021-01-02")).to_csv(files / "test.csv", index=False)
        plant = simulate_preset("tiny")
        write_swat_csv(plant.normal, files / "SWaT_Dataset_Normal_v1.csv")
        write_swat_csv(plant.attack, files / "SWaT_Dataset_Attack_v0.csv")
        declare(project, train=files / "train.csv", test=files / "test.csv")
        swat_files(project, files / "SWaT_Dataset_Normal_v1.csv", files / "SWaT_Dataset_Attack_v0.csv")
        run(project, "pca_line")
        run(project, "pca_swat")
        yield project


def declare(project: Path, *, train: Path, test: Path, cleaning: dict | None = None, **source) -> None:
    entry = {"source": {"train": str(train), "test": str(test)} | LINE | source, "windowing": {"window": 12}}
    if cleaning:
        entry["cleaning"] = cleaning
    (project / "conf/local/parameters.yml").write_text(yaml.safe_dump({"datasets": {"line": entry}}))


def swat_files(project: Path, normal: Path, attack: Path) -> None:
    (project / "conf/local/catalog.yml").write_text(
        f"swat.source_train: {{type: tsad.datasets.SwatExportDataset, filepath: {normal}}}\n"
        f"swat.source_test: {{type: tsad.datasets.SwatExportDataset, filepath: {attack}}}\n")


def run(project: Path, pipeline: str) -> None:
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=[pipeline])


def state(project: Path) -> tuple[dict[str, tuple[int, int]], list[tuple[str, str]]]:
    """Every file under data/ (size, modification time) and every registered model version."""
    files = {str(p.relative_to(project)): (p.stat().st_size, p.stat().st_mtime_ns)
             for p in (project / "data").rglob("*") if p.is_file()}
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    return files, sorted((v.name, v.version) for v in client.search_model_versions())


def edit_line(frame: pd.DataFrame, column: str, row: int, value: object) -> pd.DataFrame:
    out = frame.astype({column: object})
    out.loc[row, column] = value
    return out


def write_csv(frame: pd.DataFrame, path: Path, **options) -> Path:
    frame.to_csv(path, index=False, **options)
    return path


# Each case: (name, what to do to the test file (a frame or raw text), declaration changes, expected message).
# Line N of a CSV is the header's line plus N - 1: row 100 of the frame is line 102.
def frame_case(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame, Path], Path]:
    return lambda good, path: write_csv(change(good), path)


def text_case(change: Callable[[list[str]], list[str]]) -> Callable[[pd.DataFrame, Path], Path]:
    def write(good: pd.DataFrame, path: Path) -> Path:
        path.write_text("\n".join(change(good.to_csv(index=False).splitlines())) + "\n")
        return path
    return write


def gz_truncated(good: pd.DataFrame, path: Path) -> Path:
    path = path.with_suffix(".csv.gz")
    path.write_bytes(gzip.compress(good.to_csv(index=False).encode())[:3000])
    return path


def bom_and_semicolons(good: pd.DataFrame, path: Path) -> Path:
    path.write_text("\ufeff" + good.to_csv(index=False, sep=";"), encoding="utf-8")
    return path


LINE_CASES = {
    "timestamp that does not parse": (frame_case(lambda f: edit_line(f, "time", 100, "2021-13-45 99:00:00")), {},
                                      r"column 'time'.* line 102"),
    "label outside the declared values": (frame_case(lambda f: edit_line(f, "alarm", 100, 7)), {},
                                          r"column 'alarm'.* line 102"),
    "channel missing from the test file": (frame_case(lambda f: f.drop(columns="c")), {}, r"'c'"),
    "extra channel in the test file": (frame_case(lambda f: f.assign(z=1.0)), {}, r"'z'"),
    "no numeric channel": (frame_case(lambda f: f[["time", "alarm"]].assign(a="x")), {}, r"numeric"),
    "non-number in a numeric column": (frame_case(lambda f: edit_line(f, "b", 100, "1,5.3")), {},
                                       r"column 'b'.* line 102"),
    "row of the wrong width": (text_case(lambda lines: [*lines[:102], lines[102] + ",9", *lines[103:]]), {},
                               r"line 103"),
    "duplicated time": (frame_case(lambda f: edit_line(f, "time", 101, f.loc[100, "time"])), {},
                        r"column 'time'.* line 103"),
    "unsorted time": (frame_case(lambda f: f.iloc[[*range(100), 101, 100, *range(102, len(f))]]), {},
                      r"column 'time'.* line 10[23]"),
    "empty cell under nan_policy error": (frame_case(lambda f: edit_line(f, "d", 100, "")), {},
                                          r"column 'd', row 100 .*cleaning.nan_policy"),
    "inf under nan_policy error": (frame_case(lambda f: edit_line(f, "a", 100, "inf")), {},
                                   r"column 'a', row 100"),
    "value beyond float32": (frame_case(lambda f: edit_line(f, "e", 100, "1e308")), {},
                             r"column 'e'.* line 102.*1e308"),
    "all-empty column under nan_policy fill": (frame_case(lambda f: f.assign(c=np.nan)),
                                               {"cleaning": {"nan_policy": "fill"}},
                                               r"column 'c'.*cleaning.max_fill_fraction"),
    "too many gaps under nan_policy fill": (frame_case(lambda f: f.assign(a=f["a"].where(f.index % 10 != 3))),
                                            {"cleaning": {"nan_policy": "fill"}},
                                            r"column 'a'.*cleaning.max_fill_fraction"),
    "test file shorter than one window": (frame_case(lambda f: f.head(8)), {},
                                          r"test.csv: 8 rows after cleaning, fewer than one window \(12\); "
                                          r"lower windowing.window"),
    "header only": (frame_case(lambda f: f.head(0)), {}, r"no (data )?rows|empty"),
    "missing file": (lambda good, path: path.with_name("absent.csv"), {}, r"absent.csv.*not found"),
    "truncated csv.gz": (gz_truncated, {}, r"test.csv.gz.*(truncated|compressed|ended)"),
    "semicolons read with the default separator": (bom_and_semicolons, {}, r"csv.sep"),
}


@pytest.mark.parametrize("case", list(LINE_CASES))
def test_a_bad_declared_file_is_refused_and_writes_nothing(bad_input_project, case):
    project = bad_input_project
    before = state(project)
    write, declared, message = LINE_CASES[case]
    good = pd.read_csv(project / "files/test.csv", dtype=str, keep_default_na=False)
    folder = project / "files" / case.replace(" ", "_")
    folder.mkdir(exist_ok=True)
    bad = write(good, folder / "test.csv")
    declare(project, train=project / "files/train.csv", test=bad, **declared)
    try:
        with pytest.raises(Exception) as raised:  # noqa: PT011 - a source's load error reaches us wrapped by Kedro
            run(project, "pca_line")
    finally:
        declare(project, train=project / "files/train.csv", test=project / "files/test.csv")
    refused = data_format_error(raised.value)
    assert re.search(message, str(refused)), (message, str(refused))
    assert bad.name in str(refused)  # the file is named
    assert state(project) == before


def data_format_error(error: BaseException) -> DataFormatError:
    """The DataFormatError behind ``error`` (Kedro wraps a dataset's load errors in its DatasetError)."""
    while error is not None and not isinstance(error, DataFormatError):
        error = error.__cause__ or error.__context__
    assert error is not None, "no DataFormatError"
    return error


def swat_edit(column: str, line: int, value: str) -> Callable[[list[str]], list[str]]:
    def change(lines: list[str]) -> list[str]:
        header = lines[0].split(",")
        cells = lines[line - 1].split(",")
        cells[[h.strip() for h in header].index(column)] = value
        return [*lines[: line - 1], ",".join(cells), *lines[line:]]
    return change


SWAT_CASES = {
    "non-number in a tag": (swat_edit("FIT101", 101, "oops"), r"column 'FIT101', line 101"),
    "timestamp that does not parse": (swat_edit("Timestamp", 101, "28/13/2015 10:00:00 AM"),
                                      r"column 'Timestamp'.* line 101"),
    "misspelled label": (swat_edit("Normal/Attack", 101, "Atack"), r"column 'Normal/Attack'.* line 101"),
    "empty tag under nan_policy error": (swat_edit("LIT101", 101, ""), r"column 'LIT101', row 99"),
    "missing tag column": (lambda lines: [",".join(c for i, c in enumerate(line.split(",")) if i != 3)
                                          for line in lines], r"column|FIT101|MV101|P101|LIT101"),
}


@pytest.mark.parametrize("case", list(SWAT_CASES))
def test_a_bad_swat_export_is_refused_and_writes_nothing(bad_input_project, case):
    project = bad_input_project
    before = state(project)
    change, message = SWAT_CASES[case]
    good = project / "files/SWaT_Dataset_Attack_v0.csv"
    folder = project / "files" / f"swat_{case.replace(' ', '_')}"
    folder.mkdir(exist_ok=True)
    bad = folder / good.name
    bad.write_text("\n".join(change(good.read_text().splitlines())) + "\n")
    swat_files(project, project / "files/SWaT_Dataset_Normal_v1.csv", bad)
    try:
        with pytest.raises(DataFormatError, match=message) as refused:
            run(project, "pca_swat")
    finally:
        swat_files(project, project / "files/SWaT_Dataset_Normal_v1.csv", good)
    assert str(bad) in str(refused.value)
    assert state(project) == before
