"""Benchmark: the benchmark grid's wall time run sequentially against the same grid on a local Dask cluster.

In a temporary copy of the project (the simulated plant, generated once before either grid is timed), runs
``python -m tsad.benchmark`` twice with the same methods, dataset and seeds: as it runs by default (each run in
a fresh process, one after another), and with ``--cluster local --workers N``. Each wall time is the whole
command's: Python start-up, the cluster's start and the MLflow server's included. Prints both, their ratio and
the machine's CPU cores.

Usage: python benchmarks/grid_cluster.py [--methods pca random] [--seeds 0 1 2 3] [--workers 2]
       [--params swat_simulator_preset=tiny] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from smoke import parse_args

from tsad.benchmark import runtime_params_from

ROOT = Path(__file__).resolve().parents[1]


def project_copy(folder: Path, params: dict[str, object]) -> None:
    """The project's configuration in ``folder``, its simulated plant generated (it is not part of a run's cost)."""
    shutil.copytree(ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", folder)
    (folder / "src").mkdir()
    os.chdir(folder)
    bootstrap_project(folder)
    with KedroSession.create(project_path=folder, runtime_params=params) as session:
        session.load_context().catalog.load("swat.source_train")


def timed_grid(folder: Path, grid: list[str], output: str, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tsad.benchmark", *grid, "--output", str(folder / output), *extra],
                   cwd=folder, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["pca", "random"])
    parser.add_argument("--seeds", nargs="+", default=["0", "1", "2", "3"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--params", nargs="*", default=["swat_simulator_preset=tiny"],
                        help="dotted runtime parameters for every run")
    args = parse_args(parser, smoke={"methods": ["random"], "seeds": ["0"], "workers": 1})
    grid = ["--methods", *args.methods, "--datasets", "swat", "--seeds", *args.seeds, "--params", *args.params]
    runs = len(args.methods) * len(args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ |= {"TSAD_MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db", "KEDRO_DISABLE_TELEMETRY": "1"}
        project_copy(folder, runtime_params_from(args.params))
        sequential = timed_grid(folder, grid, "sequential")
        cluster = timed_grid(folder, grid, "cluster", "--cluster", "local", "--workers", str(args.workers))
        os.chdir(ROOT)
    print(f"grid of {runs} runs ({' '.join(args.methods)} x seeds {' '.join(args.seeds)} on swat, "  # noqa: T201
          f"{' '.join(args.params)}) on {os.cpu_count()} CPU cores: sequential {sequential:.1f} s, "
          f"local cluster of {args.workers} workers {cluster:.1f} s, ratio {sequential / cluster:.2f} x")


if __name__ == "__main__":
    main()
