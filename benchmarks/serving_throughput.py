"""Benchmark: a registered model scoring raw SWaT-format rows through ``mlflow.pyfunc`` (not a test).

Trains and registers the models in a temporary copy of the project (the simulated plant, the project's own
configuration with ``--params`` overrides, which change training only: scoring cost does not depend on the
epochs), simulates ``--rows`` new rows of the plant as SWaT writes them, loads each model with
``mlflow.pyfunc.load_model`` and times ``predict`` on them: the whole inference path (validation of the rows,
cleaning, scaling, feature selection, windows, the detector, the threshold and its flags).

Usage: python benchmarks/serving_throughput.py [--rows 200000] [--methods pca tman] [--repeats 3]
       [--params datasets.swat.methods.tman.model.epochs=1] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import mlflow
import torch
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from smoke import parse_args

from tsad.benchmark import runtime_params_from
from tsad.serving import rows_from_frame, swat_input_format
from tsad.simulators.swat_plant import simulate_swat_plant

ROOT = Path(__file__).resolve().parents[1]


def train_in_copy(folder: Path, methods: list[str], params: dict[str, object]) -> str:
    """Register ``<method>_swat`` for each method in a copy of the project under ``folder``; the store's URI."""
    shutil.copytree(ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", folder)
    (folder / "src").mkdir()
    uri = f"sqlite:///{folder}/mlflow.db"
    os.environ["TSAD_MLFLOW_TRACKING_URI"] = uri
    os.environ["KEDRO_DISABLE_TELEMETRY"] = "1"
    os.chdir(folder)
    bootstrap_project(folder)
    for method in methods:
        with KedroSession.create(project_path=folder, runtime_params=params) as session:
            session.run(pipeline_names=[f"{method}_swat"])
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--methods", nargs="+", default=["pca", "tman"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", nargs="*", default=[], help="dotted runtime parameters for training")
    # The smoke run registers PCA on the tiny simulated plant.
    args = parse_args(parser, smoke={"rows": 2_000, "methods": ["pca"], "repeats": 1,
                                     "params": ["swat_simulator_preset=tiny"]})
    plant = simulate_swat_plant(n_normal=1_000, n_attack=args.rows, seed=7)
    rows = rows_from_frame(plant.attack, swat_input_format(plant.attack))  # as a SWaT file gives them
    with tempfile.TemporaryDirectory() as tmp:
        uri = train_in_copy(Path(tmp), args.methods, runtime_params_from(args.params))
        mlflow.set_tracking_uri(uri)
        for method in args.methods:
            model = mlflow.pyfunc.load_model(f"models:/{method}_swat/latest")
            model.predict(rows.head(min(5_000, len(rows))))  # warm-up
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                predictions = model.predict(rows)
                times.append(time.perf_counter() - started)
            best, median = min(times), statistics.median(times)
            print(f"{method:<6} {len(rows) / median:10,.0f} rows/s (median of {args.repeats}; best "  # noqa: T201
                  f"{len(rows) / best:,.0f}) on {len(rows):,} raw SWaT rows, {len(predictions):,} scored, "
                  f"{torch.get_num_threads()} torch threads")


if __name__ == "__main__":
    main()
