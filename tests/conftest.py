"""Shared fixtures: small synthetic multivariate series with injected anomalies (no test reads data/), and a
Kedro project in a temporary folder for the in-process session tests."""

from __future__ import annotations

import os

# The suite runs in two pytest-xdist workers (pyproject's addopts), one per core of the 2-core CI machine: one
# torch thread each (before torch is imported), or their thread pools fight over the cores; subprocesses inherit it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402 - after the thread count above
from collections.abc import Callable
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, settings
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from tsad.core.metrics import roc_auc
from tsad.core.windows import WindowedSeries
from tsad.models import registry
from tsad.pipelines.cleaning.pipeline import cleaning_template
from tsad.pipelines.evaluation.pipeline import evaluation_template
from tsad.pipelines.feature_selection.pipeline import feature_selection_template
from tsad.pipelines.reporting.pipeline import reporting_template
from tsad.pipelines.scoring.pipeline import scoring_template
from tsad.pipelines.training.pipeline import training_template
from tsad.pipelines.windowing.pipeline import windowing_template

# Property tests must pass on a slow or shared machine: no wall-clock deadline per example, and no health check
# that fails a test for being slow. Under CI (CI set) the examples are also derandomised: every run draws the same
# ones, so a failure there is reproducible and the example count is fixed by each test's max_examples.
settings.register_profile("tsad", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("tsad"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "tsad")

ROOT = Path(__file__).resolve().parents[1]
# The simulated SWaT plant's files for the tests' "tiny" preset and the default seed, in a project copy.
TINY_SWAT = "data/01_raw/swat/simulated/tiny_seed2015"
# The evaluation parameters users see, which are also their only defaults.
EVALUATION = yaml.safe_load((ROOT / "conf" / "base" / "parameters" / "defaults.yml").read_text()
                            )["experiment_defaults"]["evaluation"]


def evaluation_params(**groups: dict) -> dict:
    """``EVALUATION`` with some options of some groups replaced, e.g. ``evaluation_params(vus={"window": 20})``."""
    return {name: {**options, **groups.get(name, {})} for name, options in EVALUATION.items()}


def synthetic_series(n: int = 2000, channels: int = 5, seed: int = 0, anomalies: bool = True,
                     start: str = "2021-01-01") -> pd.DataFrame:
    """Coupled sinusoids plus noise; with ``anomalies``, spikes and a level shift that break the coupling.

    Returns a typed frame: timestamp index at 1 s, float32 channels ``c0..``, int8 ``label``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi, channels)
    base = np.sin(2 * np.pi * t[:, None] / 50 + phase[None, :])
    values = base + 0.05 * rng.normal(size=(n, channels))
    labels = np.zeros(n, dtype=np.int8)
    if anomalies:
        for start_row, length, channel, size in ((n // 5, 20, 0, 2.5), (n // 2, 60, 2, 1.5), (4 * n // 5, 15, 4, -3.0)):
            values[start_row:start_row + length, channel % channels] += size
            labels[start_row:start_row + length] = 1
    frame = pd.DataFrame(values.astype(np.float32), columns=[f"c{i}" for i in range(channels)],
                         index=pd.date_range(start, periods=n, freq="s", name="timestamp"))
    frame["label"] = labels
    return frame


def decoupled_sensors(n: int = 3000, seed: int = 0, anomalies: bool = True) -> pd.DataFrame:
    """Three sensors of one system, each always within its normal range: c0 and c1 read the same AR(1) signal (plus a
    little noise: neither is predictable from its own past, c1 is from c0), c2 its own; with ``anomalies``,
    c1 reads an independent realisation of that process in three stretches, so only the broken coupling between c0
    and c1 shows them (for the graph detectors). Frame as ``synthetic_series``.
    """
    rng = np.random.default_rng(seed)

    def ar1(length: int) -> np.ndarray:  # unit variance, lag-one correlation 0.5
        values = np.empty(length)
        values[0] = rng.normal()
        innovations = rng.normal(scale=np.sqrt(1 - 0.25), size=length)
        for t in range(1, length):
            values[t] = 0.5 * values[t - 1] + innovations[t]
        return values

    shared = ar1(n)
    values = np.stack([shared, shared, ar1(n)], axis=1) + 0.05 * rng.normal(size=(n, 3))
    labels = np.zeros(n, dtype=np.int8)
    if anomalies:
        for start_row in (n // 5, n // 2, 4 * n // 5):
            values[start_row:start_row + 60, 1] = ar1(60) + 0.05 * rng.normal(size=60)
            labels[start_row:start_row + 60] = 1
    frame = pd.DataFrame(values.astype(np.float32), columns=[f"c{i}" for i in range(3)],
                         index=pd.date_range("2021-01-01", periods=n, freq="s", name="timestamp"))
    frame["label"] = labels
    return frame


def score_frame(n: int = 3000, seed: int = 0, signal: float = 2.0, labelled: bool = True) -> pd.DataFrame:
    """A score frame (the scoring stage's output) with three labelled segments where the score rises by ``signal``."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int8)
    for start, length in ((n // 5, 40), (n // 2, 80), (4 * n // 5, 25)):
        labels[start:start + length] = 1
    frame = pd.DataFrame({"score": rng.exponential(size=n) + signal * labels},
                         index=pd.date_range("2021-01-01", periods=n, freq="s", name="timestamp"))
    if labelled:
        frame["label"] = labels
    return frame


def entity_frame(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One multi-entity frame, ``(entity, step)`` index, from a frame per entity."""
    return pd.concat({k: f.reset_index(drop=True).rename_axis("step") for k, f in frames.items()}, names=["entity"])


def roc_auc_beside_random_control(params: dict, train_frame: pd.DataFrame, test_frame: pd.DataFrame
                                  ) -> tuple[float, float]:
    """Window ROC-AUC (windows of 16) of the detector ``params`` build, fitted on ``train_frame``, and of the
    random control (seed 3) on the same labelled test windows."""
    train = WindowedSeries.from_frame(train_frame.drop(columns="label"), 16)
    test = WindowedSeries.from_frame(test_frame, 16)
    detector = registry.build(params).fit(train.windows)
    control = registry.build({"method": "random", "seed": 3}).fit(train.windows)
    return (roc_auc(test.window_labels, detector.decision_function(test.windows)),
            roc_auc(test.window_labels, control.decision_function(test.windows)))


@pytest.fixture
def train_frame() -> pd.DataFrame:
    return synthetic_series(2000, seed=1, anomalies=False)


@pytest.fixture
def test_frame() -> pd.DataFrame:
    return synthetic_series(2000, seed=2, anomalies=True, start="2021-01-02")


@pytest.fixture
def make_series():
    """The ``synthetic_series`` factory, for tests that need more series than the two fixtures."""
    return synthetic_series


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """The project's configuration (conf/local left out) copied into ``tmp_path``, the working directory, and
    bootstrapped; data/ and the MLflow store (``tmp_path/mlflow.db``) land there too. The package itself is the
    installed one (pip install -e .)."""
    return make_project(tmp_path, monkeypatch)


def make_project(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``project``'s work in ``folder``, for fixtures of a wider scope (with their own ``pytest.MonkeyPatch``)."""
    shutil.copytree(ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", folder)
    (folder / "src").mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("TSAD_MLFLOW_TRACKING_URI", f"sqlite:///{folder}/mlflow.db")
    bootstrap_project(folder)
    return folder


def set_model_options(project: Path, **methods: dict) -> None:
    """Override model options of the project copy's methods in conf/local (e.g. ``tman={"epochs": 2}``)."""
    path = project / "conf" / "local" / "parameters.yml"
    current = yaml.safe_load(path.read_text()) if path.exists() else {}
    for method, options in methods.items():
        current.setdefault("methods", {}).setdefault(method, {}).setdefault("model", {}).update(options)
    path.write_text(yaml.safe_dump(current))


def mlflow_run(project: Path, name: str) -> mlflow.entities.Run:
    """The one MLflow run named ``name`` in the project's store."""
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("tsad").experiment_id],
                              filter_string=f"attributes.run_name = '{name}'")
    assert len(runs) == 1, f"expected one MLflow run named {name}, got {len(runs)}"
    return runs[0]


# Parameters of every stage for stage_outputs: PCA on windows of 12, a validation quantile threshold.
STAGE_PARAMS = {
    "cleaning": {"nan_policy": "error", "drop_constant": True, "gdn_recipe": False, "downsample": 1,
                 "drop_first": None},
    "scaling": {"method": "minmax"},
    "feature_selection": {"reference": None, "rho": 0.5, "top_k": None, "min_grade": None},
    "windowing": {"window": 12, "stride": 1, "validation_fraction": 0.2},
    "model": {"method": "pca", "n_components": 0.95, "device": "cpu"},
    "scoring": {"aggregation": "mean"},
    "threshold": {"strategy": "quantile", "q": 0.99},
    "evaluation": EVALUATION,
}


class KeptDataset(MemoryDataset):
    """A memory dataset the runner cannot release, so that a test can inspect every intermediate result."""

    def _release(self) -> None:
        return None


def write_server_folder(folder: Path) -> None:
    """A folder of per-entity CSVs (web-1, web-2, db-1: 1600 rows, 4 channels, an ``anomaly`` column), whose first
    half is labelled normal (the anomaly at rows 320-339 counts as normal training data's noise)."""
    folder.mkdir()
    for i, name in enumerate(["web-1", "web-2", "db-1"]):
        frame = synthetic_series(1600, seed=10 + i, channels=4)
        out = frame.drop(columns="label").reset_index(drop=True)
        out["anomaly"] = frame["label"].to_numpy()
        out.loc[:799, "anomaly"] = 0
        out.to_csv(folder / f"{name}.csv", index=False)


def latest_version(path: Path) -> Path:
    """The newest version's file of a versioned dataset at ``path`` (``<path>/<version>/<name>``)."""
    versions = sorted(path.glob(f"*/{path.name}"))
    assert versions, f"no version of {path}"
    return versions[-1]


def stage_outputs(raw_train: pd.DataFrame, raw_test: pd.DataFrame, params: dict = STAGE_PARAMS) -> dict:
    """Every dataset of the stage templates (cleaning to reporting) run on two typed frames, by name; ``params``
    maps each stage's parameter group (``cleaning``, ``windowing``, ``model`` ...) to its dict."""
    pipeline = cleaning_template() + feature_selection_template() + windowing_template() + training_template() + \
        scoring_template() + evaluation_template() + reporting_template()
    catalog = DataCatalog({name: KeptDataset(copy_mode="assign") for name in pipeline.datasets()})
    catalog.save("raw_train", raw_train)
    catalog.save("raw_test", raw_test)
    for key, value in params.items():
        catalog.save(f"params:{key}", value)
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog.load(name) for name in pipeline.datasets() if not name.startswith("params:")}


def interrupt_training(monkeypatch, detector_class: type, fit: Callable[[], object], epoch: int = 2) -> None:
    """Call ``fit`` with ``detector_class``'s training step raising KeyboardInterrupt (a user's Ctrl-C) on its first
    batch of ``epoch`` (0-based), expect the interrupt, then restore the training step."""
    original = detector_class._train_step

    def interrupted(self, batch, weights, current):
        if current == epoch:
            raise KeyboardInterrupt
        return original(self, batch, weights, current)

    monkeypatch.setattr(detector_class, "_train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit()
    monkeypatch.setattr(detector_class, "_train_step", original)


def declare_plugin_method(project: Path, plugins: Path, monkeypatch, *, method: str, detector: str, source: str,
                          options: str = "") -> None:
    """A user's detector: ``source`` as module ``<package>.<module>`` under ``plugins`` (on sys.path), and the
    project copy's parameters file declaring ``method`` by its import path ``detector`` (``package.module.Class``)."""
    package, module, _ = detector.split(".")
    (plugins / package).mkdir(parents=True, exist_ok=True)
    (plugins / package / "__init__.py").write_text("")
    (plugins / package / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(plugins))
    (project / "conf" / "base" / "parameters" / "methods" / f"{method}.yml").write_text(
        f"methods:\n  {method}:\n    model: {{detector: {detector}{options}}}\n")
