"""The benchmark grid on a Dask cluster: each (method, dataset, seed) cell, or each entity of it, as one task.

A task runs one Kedro session in its worker process (``tsad.benchmark.run_one``) with a run root of its own,
``<grid output>/runs/<cell>``: every catalog output and checkpoint of the cell lands there, so tasks never share a
file they write, and a task that is run again after its worker died resumes from its own last checkpoint. The
task appends a line to ``<run root>/attempts/<grid id>`` when it starts, which counts its attempts. A cell that
fails for its own reasons (bad data, an exception) comes back as a row with its ``error``; a lost worker is
Dask's to handle: the scheduler runs the task again elsewhere, up to ``allowed-failures`` times.

Concurrent runs must not write one SQLite MLflow store (it answers "database is locked"), so for the grid's
duration the tasks log through an ``mlflow server`` on 127.0.0.1 in front of that file, or through the HTTP
tracking server that ``TSAD_MLFLOW_TRACKING_URI`` already names.

A task runs a whole session in the worker's process, which changes the process's working directory and
environment: workers must have one thread each (``dask worker --nthreads 1``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

TRACKING_URI_VARIABLE = "TSAD_MLFLOW_TRACKING_URI"  # read by conf/base/mlflow.yml
SERVER_START_TIMEOUT_S = 180.0


@dataclasses.dataclass(frozen=True)
class ClusterOptions:
    """Where and how the grid's tasks run.

    Attributes:
        address: ``"local"`` (a ``LocalCluster`` on this machine) or a scheduler's address (``tcp://host:8786``).
        workers: Worker processes of the local cluster (default: the CPU cores).
        per_entity: One task per entity of multi-entity datasets (SMD machines, NAB series ...).
        gpu_per_task: Dask resource ``GPU`` each task holds (0: none); workers must advertise ``GPU``.
        dashboard: Serve the local cluster's dashboard (on 127.0.0.1:8787).
        allowed_failures: Times a task is run again after its worker died (the local scheduler's
            ``distributed.scheduler.allowed-failures``), and retries of a task that raised outside the run.
    """

    address: str = "local"
    workers: int | None = None
    per_entity: bool = False
    gpu_per_task: float = 0.0
    dashboard: bool = False
    allowed_failures: int = 2


@dataclasses.dataclass(frozen=True)
class Cell:
    """One task of the grid: a run of ``<method>_<dataset>`` with ``seed``, on one ``entity`` or on all (None)."""

    method: str
    dataset: str
    seed: int
    entity: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the entity's runtime parameters

    @property
    def name(self) -> str:
        """The cell's folder under ``runs/`` (and its task's name): the entity's path characters made safe."""
        base = f"{self.method}_{self.dataset}_{self.seed}"
        return base if self.entity is None else f"{base}/{re.sub(r'[^A-Za-z0-9_.-]', '_', self.entity)}"


# ----------------------------------------------------------------------------------------------- the driver
@dataclasses.dataclass(frozen=True)
class Plan:
    """What the driver reads from the project before the tasks start."""

    cells: list[Cell]
    tracking_uri: str  # the project's MLflow store (mlflow.yml, TSAD_MLFLOW_TRACKING_URI)
    experiment: str


def plan(project: Path, methods: Sequence[str], datasets: Sequence[str], seeds: Sequence[int], *,
         runtime_params: Mapping[str, Any], env: str | None, per_entity: bool) -> Plan:
    """The grid's cells (one per entity of multi-entity datasets with ``per_entity``) in the sequential grid's
    order, and the MLflow store and experiment. Simulated plants are generated here, once: their files are
    the only source files a run writes, and concurrent tasks would write them together."""
    from kedro.framework.session import KedroSession  # noqa: PLC0415

    from tsad.datasets.simulated import SimulatedSourceDataset  # noqa: PLC0415

    with KedroSession.create(project_path=project, env=env, runtime_params=dict(runtime_params)) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        simulated = set()
        for dataset in datasets:
            source = catalog.get(f"{dataset}.source_train")
            if isinstance(source, SimulatedSourceDataset):
                source.load()
                simulated.add(dataset)
        cells = []
        for dataset in datasets:
            entities = entity_params(catalog, params, dataset) if per_entity and dataset not in simulated else None
            cells += [Cell(method, dataset, seed, entity, selection) if entities else Cell(method, dataset, seed)
                      for method in methods for seed in seeds
                      for entity, selection in (entities or {None: {}}).items()]
        return Plan(cells, context.mlflow.server.mlflow_tracking_uri, context.mlflow.tracking.experiment.name)


def run_cells(project: Path, cells: Sequence[Cell], options: ClusterOptions, *, runtime_params: Mapping[str, Any],
              env: str | None, strategies: Sequence[Mapping[str, Any]], tracking_uri: str,
              output_dir: Path) -> list[dict[str, Any]]:
    """Every cell as a Dask task on the cluster ``options`` name; the cells' rows in the order of ``cells``.

    A row is ``run_one``'s plus ``attempts`` (1 unless a worker died under the task), ``error`` (None, or the
    cell's own exception) and ``run_root``.
    """
    from distributed import as_completed  # noqa: PLC0415 - dask only for grids on a cluster

    grid_id = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    with dask_client(options) as client:
        check_resources(client, options)
        futures = {}
        for index, cell in enumerate(cells):
            run_root = output_dir / "runs" / cell.name
            future = client.submit(run_cell, project, cell, run_root=str(run_root), runtime_params=dict(runtime_params),
                                   env=env, strategies=[dict(s) for s in strategies], tracking_uri=tracking_uri,
                                   grid_id=grid_id, key=f"tsad-{cell.name}-{grid_id}", retries=options.allowed_failures,
                                   resources={"GPU": options.gpu_per_task} if options.gpu_per_task else None)
            futures[future] = index
        rows: list[dict[str, Any]] = [{}] * len(cells)
        for future in as_completed(futures):
            cell = cells[futures[future]]
            try:
                row = future.result()
            except Exception as error:  # noqa: BLE001 - a lost task (KilledWorker ...) is the cell's failure
                run_root = output_dir / "runs" / cell.name
                row = failed_row(cell, error, attempts=_attempts(run_root, grid_id), run_root=run_root)
            if row.get("error"):
                logger.error("Benchmark: %s failed: %s", cell.name, row["error"])
            else:
                logger.info("Benchmark: %s done (attempt %d)", cell.name, row["attempts"])
            rows[futures[future]] = row
    return rows


@contextlib.contextmanager
def dask_client(options: ClusterOptions) -> Iterator[Any]:
    """A client of a new ``LocalCluster`` on 127.0.0.1, or of the scheduler at ``options.address``; both are
    closed on leaving, the local cluster's workers stopped."""
    import dask  # noqa: PLC0415 - dask only for grids on a cluster
    from distributed import Client, LocalCluster  # noqa: PLC0415

    cluster = client = None
    try:
        if options.address == "local":
            with dask.config.set({"distributed.scheduler.allowed-failures": options.allowed_failures}):
                cluster = LocalCluster(n_workers=options.workers or os.cpu_count() or 1, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:8787" if options.dashboard else None,
                                       resources={"GPU": 1} if options.gpu_per_task else None)
            client = Client(cluster)
        else:
            client = Client(options.address)
            client.wait_for_workers(1, timeout=120)
        logger.info("Benchmark on %s: %d workers", client.scheduler.address, len(client.scheduler_info()["workers"]))
        yield client
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def check_resources(client: Any, options: ClusterOptions) -> None:
    """Refuse GPU tasks when no worker advertises that much of resource GPU: they would wait forever."""
    if not options.gpu_per_task:
        return
    workers = client.scheduler_info()["workers"].values()
    if not any(w.get("resources", {}).get("GPU", 0) >= options.gpu_per_task for w in workers):
        raise RuntimeError(f"--gpu-per-task {options.gpu_per_task:g}: no worker of {client.scheduler.address} has "
                           "that much of resource GPU; start GPU workers with `dask worker ... --resources GPU=1`")


def failed_row(cell: Cell, error: BaseException | str, *, attempts: int, run_root: Path | str) -> dict[str, Any]:
    """The row of a cell that gave no result: its identity and its error."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return {"dataset": cell.dataset, "method": cell.method, "seed": int(cell.seed), "attempts": attempts,
            "error": text, "run_root": str(run_root), "entities": []}


# ----------------------------------------------------------------------------------------------- the task
def run_cell(project: Path, cell: Cell, *, run_root: str, runtime_params: Mapping[str, Any], env: str | None,
             strategies: Sequence[Mapping[str, Any]], tracking_uri: str, grid_id: str) -> dict[str, Any]:
    """The task: one Kedro session of ``cell`` in this worker process, its outputs under ``run_root``."""
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415 - in the worker

    from tsad.benchmark import _merge, run_one  # noqa: PLC0415 - tsad.benchmark imports this module lazily

    attempts = _count_attempt(Path(run_root), grid_id)
    os.environ[TRACKING_URI_VARIABLE] = tracking_uri
    before = Path.cwd()
    os.chdir(project)  # the catalog's relative source paths (data/01_raw/...) are relative to the project
    try:
        bootstrap_project(project)
        params = _merge(_merge(dict(runtime_params), cell.params), {"run_root": run_root})
        row = run_one(project, cell.method, cell.dataset, cell.seed, runtime_params=params, env=env,
                      strategies=strategies)
        row |= {"attempts": attempts, "error": None, "run_root": run_root}
    except Exception as error:  # noqa: BLE001 - the cell's own failure is its result; the grid goes on
        logger.error("Benchmark: %s failed:\n%s", cell.name, traceback.format_exc())
        row = failed_row(cell, error, attempts=attempts, run_root=run_root)
    finally:
        os.chdir(before)
    return row


def _count_attempt(run_root: Path, grid_id: str) -> int:
    """Record this attempt of the cell (one line per attempt, this grid's file); the attempts so far."""
    log = run_root / "attempts" / grid_id
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"{socket.gethostname()} pid {os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
    return _attempts(run_root, grid_id)


def _attempts(run_root: Path, grid_id: str) -> int:
    log = run_root / "attempts" / grid_id
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


# ----------------------------------------------------------------------------------------------- entities
def entity_params(catalog: Any, params: Mapping[str, Any], dataset: str) -> dict[str, dict] | None:
    """``{entity: runtime parameters selecting that entity alone}`` for each entity a run of a multi-entity
    dataset would select (``datasets.<ds>.ingestion.entities``/``exclude``, or the ``source`` block's for a
    declared dataset), in the dataset's order; None for a single series."""
    from tsad.connectors.entities import EntitySource, select_entities  # noqa: PLC0415
    from tsad.connectors.table.sources import TableSource  # noqa: PLC0415

    train, test = catalog.load(f"{dataset}.source_train"), catalog.load(f"{dataset}.source_test")
    if not isinstance(train, EntitySource) or not isinstance(test, EntitySource) or \
            (isinstance(train, TableSource) and not train.multi):
        return None
    if isinstance(train, TableSource):
        block, entities, exclude = "source", train.entities, train.exclude
    else:
        ingestion = params["data"][dataset].get("ingestion") or {}
        block, entities, exclude = "ingestion", ingestion.get("entities"), ingestion.get("exclude")
    selected = select_entities(train, test, entities, exclude, parameter=f"datasets.{dataset}.{block}.entities")
    return {entity: {"datasets": {dataset: {block: {"entities": [entity], "exclude": []}}}} for entity in selected}


def merge_entities(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The per-entity rows of one (method, dataset, seed) as the row of the whole run: each metric's mean over
    the entities with a value (as the evaluation's ``mean`` row), the times summed, the peaks' maximum, the
    entity records together. A failed entity fails the run (a mean over fewer entities would look complete)."""
    first = parts[0]
    row: dict[str, Any] = {"dataset": first["dataset"], "method": first["method"], "seed": first["seed"],
                           "attempts": max(p["attempts"] for p in parts),
                           "run_root": str(Path(first["run_root"]).parent)}
    errors = [f"{Path(p['run_root']).name}: {p['error']}" for p in parts if p.get("error")]
    if errors:
        return row | {"error": "; ".join(errors), "entities": []}
    row["run_id"] = " ".join(p["run_id"] for p in parts if isinstance(p.get("run_id"), str))
    for name in ("wall_s", "fit_s", "score_s"):
        row[name] = float(sum(p[name] for p in parts))
    for name in ("peak_mem_mib", "peak_gpu_mib"):
        row[name] = _nanmax([p[name] for p in parts])
    metrics = pd.DataFrame([{k: v for k, v in p.items() if k.startswith(("model.", "random_control."))}
                            for p in parts], dtype=float)
    row |= {name: float(value) for name, value in metrics.mean(axis=0, skipna=True).items()}
    return row | {"error": None, "entities": [record for p in parts for record in p["entities"]]}


def _nanmax(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return max(finite) if finite else float("nan")


# ----------------------------------------------------------------------------------------------- MLflow
@contextlib.contextmanager
def tracking_server(project: Path, tracking_uri: str, log_file: Path) -> Iterator[str]:
    """The tracking URI the grid's tasks log to: ``tracking_uri`` itself when it is a server's (http, https),
    else, for a SQLite store, an ``mlflow server`` on 127.0.0.1 in front of it (artifacts in the project's
    ``mlruns``, as without a server), stopped on leaving. The server's output goes to ``log_file``."""
    if not tracking_uri.startswith("sqlite:///"):
        if not tracking_uri.startswith(("http://", "https://")):
            logger.warning("MLflow store %s is neither SQLite nor a server: concurrent runs write it directly",
                           tracking_uri)
        yield tracking_uri
        return
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    database = database if database.is_absolute() else project / database
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--backend-store-uri", f"sqlite:///{database}",
               "--default-artifact-root", str(project / "mlruns"), "--no-serve-artifacts"]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        # Its own session (process group), so that stopping it also stops its uvicorn workers; no job runner.
        server = subprocess.Popen(command, cwd=project, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                  env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(server, uri, log_file)
        logger.info("MLflow server %s in front of %s for the grid", uri, database)
        yield uri
    finally:
        _stop(server)


def ensure_experiment(tracking_uri: str, name: str) -> str:
    """The experiment's id, the experiment created (or restored) first if needed: once, before the tasks, so
    that concurrent runs do not race to create it."""
    from mlflow import MlflowClient  # noqa: PLC0415

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name)
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(server: subprocess.Popen, uri: str, log_file: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server stopped at start (exit {server.returncode}); see {log_file}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:  # noqa: S310 - our loopback server
                if answer.status == 200:
                    return
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server at {uri} not healthy after {SERVER_START_TIMEOUT_S:.0f} s; see {log_file}")


def _stop(server: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def run_rows(cells: Sequence[Cell], rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (method, dataset, seed), in the cells' order: a per-entity cell's rows merged
    (``merge_entities``), a whole-dataset cell's row as it is."""
    runs: dict[tuple, list[dict[str, Any]]] = {}
    for cell, row in zip(cells, rows, strict=True):
        runs.setdefault((cell.method, cell.dataset, cell.seed, cell.entity is None), []).append(row)
    return [parts[0] if whole else merge_entities(parts) for (*_, whole), parts in runs.items()]
