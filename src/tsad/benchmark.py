"""The benchmark grid: (method, dataset, seed) pipelines run in-process, then a leaderboard.

``python -m tsad.benchmark`` (from the project root) reads ``benchmark`` from the parameters
(conf/base/parameters/benchmark.yml), runs ``<method>_<dataset>`` once per seed through a ``KedroSession`` (each
run is a normal MLflow run, with the seed given as runtime parameters to the model and the random control), and
writes ``leaderboard.csv``, ``leaderboard.md`` and ``runs.csv``: every evaluation metric of the model and of the
random control, mean and standard deviation over seeds, with training and scoring time and peak memory. The
leaderboard goes to its own MLflow run, ``benchmark``.

Times and memory come from a hook registered on each session: wall time of the training node(s) and the scoring
nodes, and the peak resident memory of the process above its level when each of those nodes started (sampled
every 5 ms; GPU memory, when CUDA is used, from ``torch.cuda.max_memory_allocated``). By default each run has a
fresh Python process (``isolate``), started with glibc's mmap threshold fixed at 64 KiB: large arrays then go
back to the system when freed, so that a node's resident growth is its own and not hidden by memory an earlier
run or node left in the heap.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import yaml
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tsad import cluster as on_cluster
from tsad.cluster import ClusterOptions
from tsad.core.comparison import paired_table
from tsad.core.threshold_study import label, oracle_shares, strategy_f1, study
from tsad.models import registry

logger = logging.getLogger(__name__)

TRAINING_NODES = ("fit_detector",)
SCORING_NODES = ("score_val", "score_test")
_TABLES = {"metrics_by_entity": "model", "random_control_metrics_by_entity": "random_control"}
_SCORES = ("scores_val", "scores_test")  # the model's, for the threshold study
_RESOURCE_COLUMNS = ("fit_s", "score_s", "peak_mem_mib", "peak_gpu_mib")
_MIB = 1024.0 * 1024.0


def _rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc), or its peak so far elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class _PeakSampler:
    """Samples resident memory in a thread while a node runs, keeping the largest value."""

    def __init__(self, period_s: float = 0.005):
        self.period_s = period_s
        self.baseline = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.peak = max(self.peak, _rss_bytes())

    def stop(self) -> float:
        """Stop sampling; the peak above the baseline, in MiB."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())
        return (self.peak - self.baseline) / _MIB


class RunRecorder:
    """Kedro hooks that record one run: node times and memory, the evaluation tables, the MLflow run id."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.peak_mib: dict[str, float] = {}
        self.peak_gpu_mib: dict[str, float] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.scores: dict[str, pd.DataFrame] = {}
        self.run_id: str | None = None
        self._started: dict[str, tuple[float, _PeakSampler]] = {}

    @staticmethod
    def _kind(node_name: str) -> str | None:
        short = node_name.rsplit(".", 1)[-1]
        if short in TRAINING_NODES:
            return "fit"
        return "score" if short in SCORING_NODES else None

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        if self._kind(node.name) is None:
            return
        if _cuda_ready():
            import torch  # noqa: PLC0415 - torch on first use: the grid's parent process only starts runs

            torch.cuda.reset_peak_memory_stats()
        self._started[node.name] = (time.perf_counter(), _PeakSampler())

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        if node.name not in self._started:
            return
        start, sampler = self._started.pop(node.name)
        self.times[node.name] = time.perf_counter() - start
        self.peak_mib[node.name] = sampler.stop()
        if _cuda_ready():
            import torch  # noqa: PLC0415 - torch on first use: the grid's parent process only starts runs

            self.peak_gpu_mib[node.name] = torch.cuda.max_memory_allocated() / _MIB

    @hook_impl
    def on_node_error(self, node: Any) -> None:
        if node.name in self._started:
            self._started.pop(node.name)[1].stop()

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        short = dataset_name.rsplit(".", 1)[-1]
        if short in _SCORES:
            self.scores[short] = data
        if short in _TABLES:
            self.tables[_TABLES[short]] = data

            run = mlflow.active_run()
            self.run_id = run.info.run_id if run else self.run_id

    def resources(self) -> dict[str, float]:
        """Training and scoring seconds, and the peak memory above the node's start over those nodes (MiB)."""
        def total(kind: str) -> float:
            return float(sum(t for name, t in self.times.items() if self._kind(name) == kind))

        return {"fit_s": total("fit"), "score_s": total("score"),
                "peak_mem_mib": max(self.peak_mib.values(), default=float("nan")),
                "peak_gpu_mib": max(self.peak_gpu_mib.values(), default=float("nan"))}


def _cuda_ready() -> bool:
    if "torch" not in sys.modules:
        return False
    import torch  # noqa: PLC0415 - torch on first use: the grid's parent process only starts runs

    return bool(torch.cuda.is_available() and torch.cuda.is_initialized())


def seed_parameters(method: str, dataset: str, seed: int) -> dict[str, Any]:
    """Runtime parameters giving the model and the random control of one run the seed.

    The model's seed goes in as a per-dataset method override (``datasets.<ds>.methods.<m>.model.seed``), the
    most specific level of the parameter resolution (tsad.config), so no file can shadow it.
    """
    return {"datasets": {dataset: {"methods": {method: {"model": {"seed": int(seed)}}}}},
            "experiment_defaults": {"evaluation": {"random_control": {"seed": int(seed)}}}}


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) \
            else value
    return out


def _summary_row(table: pd.DataFrame) -> dict[str, float]:
    """The row a run is ranked by: the single series, or the mean over entities."""
    if table is None or table.empty:
        return {}
    row = "series" if "series" in table.index else "mean"
    return {k: float(v) for k, v in table.loc[row].items() if isinstance(v, int | float | np.floating)}


def run_one(project_path: Path, method: str, dataset: str, seed: int, *, runtime_params: Mapping[str, Any],
            env: str | None = None, strategies: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Run ``<method>_<dataset>`` once with ``seed`` through a KedroSession; its metrics and resources, and under
    ``entities`` one record per evaluated entity (the model's metrics, the random control's as method
    ``random_control``, and the test F1 of each of ``strategies`` fitted on the validation scores)."""
    import torch  # noqa: PLC0415 - torch on first use: the grid's parent process only starts runs


    # Import the detector and initialise torch first, so that fit time and memory exclude one-off library costs
    # (a method declared by its class's import path is imported in the run).
    if method in registry.available():
        registry.get(method)
    torch.zeros(1).add_(1)
    recorder = RunRecorder()
    params = _merge(dict(runtime_params), seed_parameters(method, dataset, seed))
    started = time.perf_counter()
    with KedroSession.create(project_path=project_path, env=env, runtime_params=params) as session:
        # KedroSession has no public way to add a hook object for one session; its hook manager is pluggy's.
        session._hook_manager.register(recorder)  # noqa: SLF001
        session.run(pipeline_names=[f"{method}_{dataset}"])
    row: dict[str, Any] = {"dataset": dataset, "method": method, "seed": int(seed), "run_id": recorder.run_id,
                           "wall_s": time.perf_counter() - started, **recorder.resources()}
    row |= {f"model.{k}": v for k, v in _summary_row(recorder.tables.get("model")).items()}
    row |= {f"random_control.{k}": v for k, v in _summary_row(recorder.tables.get("random_control")).items()}
    row["entities"] = _entity_records(recorder, method, strategies)
    return row


def _entity_records(recorder: RunRecorder, method: str, strategies: Sequence[Mapping[str, Any]]) -> list[dict]:
    records = []
    for name, recorded_as in (("model", method), ("random_control", "random_control")):
        table = recorder.tables.get(name)
        if table is None or table.empty:
            continue
        rows = table.drop(index="mean", errors="ignore")
        if name == "model" and strategies and set(_SCORES) <= set(recorder.scores):
            study = strategy_f1(recorder.scores["scores_val"], recorder.scores["scores_test"], strategies)
            rows = rows.join(study.drop(columns="oracle_f1"), how="left")
        records += [{"method": recorded_as, "entity": str(entity), **values}
                    for entity, values in rows.select_dtypes("number").to_dict(orient="index").items()]
    return records


def run_isolated(project_path: Path, method: str, dataset: str, seed: int, *, runtime_params: Mapping[str, Any],
                 env: str | None = None, strategies: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``run_one`` in a fresh Python process (same interpreter, environment and project), for clean memory figures."""
    spec = {"method": method, "dataset": dataset, "seed": int(seed), "runtime_params": dict(runtime_params),
            "env": env, "strategies": [dict(s) for s in strategies]}
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "row.json"
        command = [sys.executable, "-m", "tsad.benchmark", "--project", str(project_path), "--run-one",
                   json.dumps(spec), "--result", str(result)]
        subprocess.run(command, cwd=project_path, check=True,
                       env={**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 * 1024)})
        return json.loads(result.read_text(encoding="utf-8"))


def leaderboard(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds of every metric and resource, per (dataset, method).

    Each dataset also gets a ``random_control`` row: the control's metrics over the distinct seeds run on it
    (the control does not depend on the method).
    """
    if "error" in runs.columns:  # cells that failed on a cluster have no metrics
        runs = runs[runs["error"].isna()]
    model_columns = [c for c in runs.columns if c.startswith("model.")]
    control_columns = [c for c in runs.columns if c.startswith("random_control.")]
    resources = [c for c in _RESOURCE_COLUMNS if c in runs.columns]
    parts = []
    for (dataset, method), group in runs.groupby(["dataset", "method"], sort=False):
        values = group[model_columns].rename(columns=lambda c: c.split(".", 1)[1])
        parts.append(_aggregate(values.join(group[resources]), dataset, method))
    for dataset, group in runs.groupby("dataset", sort=False):
        control = group.drop_duplicates("seed")[control_columns].rename(columns=lambda c: c.split(".", 1)[1])
        parts.append(_aggregate(control, dataset, "random_control"))
    return pd.DataFrame(parts).set_index(["dataset", "method"])


def _aggregate(values: pd.DataFrame, dataset: str, method: str) -> dict[str, Any]:
    row: dict[str, Any] = {"dataset": dataset, "method": method, "runs": len(values)}
    for column in values.columns:
        series = pd.to_numeric(values[column], errors="coerce")
        row[f"{column}_mean"] = float(series.mean())
        row[f"{column}_std"] = float(series.std(ddof=1)) if series.count() > 1 else float("nan")
    return row


def leaderboard_markdown(board: pd.DataFrame, paired: pd.DataFrame | None = None,
                         shares: pd.DataFrame | None = None, study_result: Mapping[str, Any] | None = None, *,
                         analysis: Analysis | None = None, header: Sequence[str] = ()) -> str:
    """One section per dataset: the metrics (rows) by method (columns) as mean ± std over seeds; each method against
    the dataset's best simple baseline, paired over entities and seeds; the label-free F1 of each threshold strategy
    as a share of the oracle F1. Then the threshold study."""
    analysis = analysis or Analysis()
    lines = ["# Benchmark leaderboard", "", *header,
             "Mean ± standard deviation over seeds. `random_control` is the seeded U(0, 1) score evaluated in every "
             "run with the same threshold strategy: a metric only means something where a method is clearly above "
             "it. `oracle_*` use the test labels to pick the threshold. Times in seconds; memory is the peak "
             "resident memory above the start of the training / scoring nodes, in MiB.", ""]
    metrics = [c[: -len("_mean")] for c in board.columns if c.endswith("_mean")]
    for dataset, part in board.groupby(level="dataset", sort=False):
        methods = [m for _, m in part.index]
        lines += [f"## {dataset}", "", "| metric | " + " | ".join(f"`{m}`" for m in methods) + " |",
                  "|---|" + "---|" * len(methods)]
        for metric in metrics:
            cells = [_cell(part.loc[(dataset, m), f"{metric}_mean"], part.loc[(dataset, m), f"{metric}_std"])
                     for m in methods]
            if any(c != "" for c in cells):
                lines.append(f"| `{metric}` | " + " | ".join(cells) + " |")
        lines.append("| runs | " + " | ".join(str(int(part.loc[(dataset, m), "runs"])) for m in methods) + " |")
        lines.append("")
        if paired is not None and not paired.empty and dataset in paired.index.get_level_values("dataset"):
            lines += _paired_lines(paired.loc[dataset], analysis)
        if shares is not None and not shares.empty and dataset in shares.index.get_level_values("dataset"):
            lines += _share_lines(shares.loc[dataset])
    if study_result is not None:
        lines += _study_lines(study_result)
    return "\n".join(lines)


def _paired_lines(paired: pd.DataFrame, analysis: Analysis) -> list[str]:
    reference = paired["baseline"].iloc[0]
    baselines = ", ".join(f"`{b}`" for b in analysis.baselines)
    lines = [f"Against the best simple baseline here, `{reference}` (of {baselines}, by `{analysis.metric}`), "
             f"paired over (entity, seed): wins / ties / losses "
             f"(ties within {analysis.tie:g}) and the two-sided Wilcoxon signed-rank p-value; a method is called "
             f"better or worse only at p < {analysis.alpha:g}.", "",
             f"| method | `{analysis.metric}` mean ± sd over pairs | pairs | wins / ties / losses | p | verdict |",
             "|---|---|---|---|---|---|"]
    for method, row in paired.iterrows():
        spread = _cell(row["mean"], row["spread"])
        if row["verdict"] == "reference":
            lines.append(f"| `{method}` | {spread} | {int(row['units'])} | | | reference |")
        else:
            lines.append(f"| `{method}` | {spread} | {int(row['units'])} | {int(row['wins'])} / {int(row['ties'])} / "
                         f"{int(row['losses'])} | {row['p_value']:.3g} | {row['verdict']} |")
    return lines + [""]


def _share_lines(shares: pd.DataFrame) -> list[str]:
    strategies = list(shares.columns)
    lines = ["Label-free F1 (each strategy fitted on the run's validation scores, no labels) as a share of the oracle "
             "F1 (the best F1 over all thresholds, picked with the test labels); means over pairs, a strategy that "
             "finds no threshold counting as F1 0. `random` shows what a rule gets on noise.", "",
             "| method | " + " | ".join(f"`{s}`" for s in strategies) + " |", "|---|" + "---|" * len(strategies)]
    return lines + _percent_rows(shares, "`{}`") + [""]


def _study_lines(result: Mapping[str, Any]) -> list[str]:
    shares = result["shares"]
    selection = ", ".join(f"`{d}`" for d in shares.index if d not in result["held_out"])
    lines = ["## Threshold study", "",
             f"The strategy with the highest share of the oracle F1 on the selection datasets "
             f"({selection}; mean over their methods, the random controls left out) is "
             f"`{result['chosen']}`; the project's default is `{result['current']}`. On the other datasets:", "",
             "| dataset | chosen | default | chosen better |", "|---|---|---|---|"]
    for dataset, row in result["held_out"].items():
        lines.append(f"| {dataset} | {row['chosen']:.0%} | {row['current']:.0%} | "
                     f"{'yes' if row['chosen_better'] else 'no'} |")
    lines += ["", "The default changes only when the chosen strategy is better on every other dataset too.", "",
              "Share of the oracle F1 per dataset (mean over methods, the random controls left out):", "",
              "| dataset | " + " | ".join(f"`{s}`" for s in shares.columns) + " |",
              "|---|" + "---|" * len(shares.columns)]
    return lines + _percent_rows(shares, "{}") + [""]


def _percent_rows(shares: pd.DataFrame, name: str) -> list[str]:
    """One table row per row of ``shares``, named by ``name`` (a format), its values as percentages."""
    return [f"| {name.format(index)} | " + " | ".join("" if not np.isfinite(v) else f"{v:.0%}" for v in row) + " |"
            for index, row in shares.iterrows()]


def _cell(mean: float, std: float) -> str:
    if not math.isfinite(mean):
        return ""
    text = f"{mean:.0f}" if abs(mean) >= 100 else f"{mean:.4g}"
    spread = "" if not math.isfinite(std) else (f" ± {std:.0f}" if abs(std) >= 100 else f" ± {std:.2g}")
    return text + spread


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What the grid computes beyond the leaderboard (``benchmark`` parameters; see benchmark.yml).

    Attributes:
        baselines: The simple baselines; each dataset's best of them (by ``metric``) is every method's reference.
        metric: The metric of the paired comparison (higher is better).
        tie: Differences within ``tie`` count as ties.
        alpha: Level of the paired test.
        strategies: Threshold strategies fitted on every run's validation scores (the threshold study).
        select_on: Datasets on which the study picks its strategy; it is checked on the others.
        current: The label of the project's default strategy (``threshold_study.label``).
    """

    baselines: tuple[str, ...] = ()
    metric: str = "pr_auc"
    tie: float = 0.0
    alpha: float = 0.05
    strategies: tuple[dict[str, Any], ...] = ()
    select_on: tuple[str, ...] = ()
    current: str | None = None


def run_grid(project_path: Path, methods: Sequence[str], datasets: Sequence[str], seeds: Sequence[int], *,
             runtime_params: Mapping[str, Any] | None = None, output_dir: Path | None = None,
             env: str | None = None, isolate: bool = True, analysis: Analysis | None = None,
             header: Sequence[str] = (), cluster: ClusterOptions | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every (method, dataset, seed), each in its own process unless ``isolate`` is False, or each as a task
    on the Dask ``cluster`` (``tsad.cluster``), and write the leaderboard, the per-entity table, the paired
    comparisons and the threshold study.

    Returns:
        The per-run frame and the leaderboard (also written to ``output_dir`` and logged to MLflow).
    """

    analysis = analysis or Analysis()
    missing = [f"{m}_{d}" for d in datasets for m in methods if f"{m}_{d}" not in pipelines]
    if missing:
        raise ValueError(f"no pipeline registered for {missing}; see `kedro registry list`")
    output_dir = Path(output_dir or project_path / "data" / "08_reporting" / "benchmark")
    output_dir.mkdir(parents=True, exist_ok=True)
    grid = {"methods": methods, "datasets": datasets, "seeds": seeds}
    if cluster is not None:
        return _run_grid_on_cluster(project_path, grid, runtime_params=runtime_params or {}, output_dir=output_dir,
                                    env=env, analysis=analysis, header=header, options=cluster)
    rows = []
    for dataset in datasets:
        for method in methods:
            for seed in seeds:
                logger.info("Benchmark: %s_%s, seed %d", method, dataset, seed)
                run = run_isolated if isolate else run_one
                rows.append(run(project_path, method, dataset, seed, runtime_params=runtime_params or {}, env=env,
                                strategies=analysis.strategies))
    return _write_grid(rows, output_dir, analysis, header, grid)


def _run_grid_on_cluster(project_path: Path, grid: Mapping[str, Sequence[Any]], *, runtime_params: Mapping[str, Any],
                         output_dir: Path, env: str | None, analysis: Analysis, header: Sequence[str],
                         options: ClusterOptions) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``run_grid`` with every cell a Dask task, logging to MLflow through a server for the grid's duration."""
    planned = on_cluster.plan(project_path, grid["methods"], grid["datasets"], grid["seeds"],
                           runtime_params=runtime_params, env=env, per_entity=options.per_entity)
    previous = mlflow.get_tracking_uri()
    with on_cluster.tracking_server(project_path, planned.tracking_uri, output_dir / "mlflow_server.log") as uri:
        on_cluster.ensure_experiment(uri, planned.experiment)
        rows = on_cluster.run_cells(project_path, planned.cells, options, runtime_params=runtime_params, env=env,
                                 strategies=analysis.strategies, tracking_uri=uri, output_dir=output_dir)
        mlflow.set_tracking_uri(uri)
        try:
            return _write_grid(on_cluster.run_rows(planned.cells, rows), output_dir, analysis, header, grid)
        finally:
            mlflow.set_tracking_uri(previous)


def _write_grid(rows: Sequence[Mapping[str, Any]], output_dir: Path, analysis: Analysis, header: Sequence[str],
                grid: Mapping[str, Sequence[Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    entities = entity_frame(rows)
    runs = pd.DataFrame([{k: v for k, v in row.items() if k != "entities"} for row in rows])
    (output_dir / "provenance.md").write_text("\n".join(header) + "\n", encoding="utf-8")
    if "error" in runs.columns and runs["error"].notna().all():
        runs.to_csv(output_dir / "runs.csv", index=False)
        raise RuntimeError(f"every run of the grid failed; see {output_dir / 'runs.csv'}: "
                           + "; ".join(runs["error"].astype(str).unique()))
    board = write_results(runs, entities, output_dir, analysis, header)
    _log_to_mlflow(runs, board, output_dir, grid)
    return runs, board


def write_results(runs: pd.DataFrame, entities: pd.DataFrame, output_dir: Path, analysis: Analysis,
                  header: Sequence[str] = ()) -> pd.DataFrame:
    """The leaderboard, the paired comparisons, the threshold shares and the study of a grid's runs, written to
    ``output_dir`` (runs.csv, entities.csv, leaderboard.csv, paired.csv, thresholds.csv, leaderboard.md)."""
    board = leaderboard(runs)
    paired = paired_table(entities, analysis.metric, analysis.baselines, tie=analysis.tie, alpha=analysis.alpha) \
        if len(entities) else pd.DataFrame()
    shares = oracle_shares(entities[entities["method"] != "random_control"]) \
        if any(c.startswith("f1@") for c in entities.columns) else pd.DataFrame()
    runs.to_csv(output_dir / "runs.csv", index=False)
    entities.to_csv(output_dir / "entities.csv", index=False)
    board.to_csv(output_dir / "leaderboard.csv")
    paired.to_csv(output_dir / "paired.csv")
    shares.to_csv(output_dir / "thresholds.csv")
    text = leaderboard_markdown(board, paired, shares, _study(entities, analysis), analysis=analysis,
                                header=[*header, *_cell_notes(runs)])
    (output_dir / "leaderboard.md").write_text(text + "\n", encoding="utf-8")
    return board


def _cell_notes(runs: pd.DataFrame) -> list[str]:
    """Lines naming the runs of a grid on a cluster that were run again after their worker died, and those that
    failed (left out of the leaderboard), with their errors."""
    def name(row: Mapping[str, Any]) -> str:
        return f"`{row['method']}_{row['dataset']}` seed {int(row['seed'])}"

    lines = []
    if "attempts" in runs.columns:
        retried = runs[runs["attempts"] > 1]
        if len(retried):
            lines += ["Run again after their worker was lost: " + ", ".join(
                f"{name(row)} ({int(row['attempts'])} attempts)" for _, row in retried.iterrows()) + ".", ""]
    if "error" in runs.columns:
        failed = runs[runs["error"].notna()]
        if len(failed):
            lines += ["Failed, left out of the leaderboard (runs.csv has the errors): " + "; ".join(
                f"{name(row)}: {row['error']}" for _, row in failed.iterrows()), ""]
    return lines


def entity_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The runs' per-entity records as one frame: dataset, method, seed, entity and the metrics. The random control,
    recorded in every run, is kept once per (dataset, seed)."""
    records = [{"dataset": row["dataset"], "seed": row["seed"], **record}
               for row in rows for record in row.get("entities", [])]
    if not records:
        return pd.DataFrame(columns=["dataset", "method", "seed", "entity"])
    frame = pd.DataFrame(records).drop_duplicates(["dataset", "method", "seed", "entity"])
    return frame[["dataset", "method", "seed", "entity"] + [c for c in frame.columns
                                                             if c not in ("dataset", "method", "seed", "entity")]]


def _study(entities: pd.DataFrame, analysis: Analysis) -> dict[str, Any] | None:
    if not analysis.strategies or not analysis.select_on or analysis.current is None:
        return None
    if not set(analysis.select_on) & set(entities["dataset"]):
        return None
    return study(entities, analysis.select_on, analysis.current)


def _log_to_mlflow(runs: pd.DataFrame, board: pd.DataFrame, output_dir: Path,
                   grid: Mapping[str, Iterable[Any]]) -> None:
    """The leaderboard as its own MLflow run, ``benchmark``, in the experiment of the grid's runs."""

    # A run split per entity on a cluster has one MLflow run per entity, their ids separated by spaces.
    run_ids = [i for r in runs["run_id"] if isinstance(r, str) for i in r.split()]
    experiment_id = mlflow.get_run(run_ids[-1]).info.experiment_id if run_ids else None
    with mlflow.start_run(run_name="benchmark", experiment_id=experiment_id):
        mlflow.log_params({name: ",".join(map(str, values)) for name, values in grid.items()})
        mlflow.set_tag("runs", ",".join(run_ids))
        for (dataset, method), row in board.iterrows():
            for column, value in row.items():
                if column.endswith(("_mean", "_std")) and isinstance(value, float) and math.isfinite(value):
                    mlflow.log_metric(f"{dataset}.{method}.{column}", value)
        for name in ("leaderboard.csv", "leaderboard.md", "runs.csv"):
            mlflow.log_artifact(str(output_dir / name))


def runtime_params_from(items: Sequence[str]) -> dict[str, Any]:
    """``a.b.c=value`` items (values read as YAML) as the nested runtime parameters a Kedro session takes."""

    runtime: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        nested: Any = yaml.safe_load(value)
        for part in reversed(key.split(".")):
            nested = {part: nested}
        runtime = _merge(runtime, nested)
    return runtime


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tsad.benchmark``: the grid in ``benchmark`` parameters, each part overridable here."""
    parser = argparse.ArgumentParser(prog="python -m tsad.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", help="methods (default: benchmark.methods)")
    parser.add_argument("--datasets", nargs="+", help="datasets (default: benchmark.datasets)")
    parser.add_argument("--seeds", nargs="+", type=int, help="seeds (default: benchmark.seeds)")
    parser.add_argument("--params", nargs="*", default=[], metavar="KEY=VALUE",
                        help="runtime parameters for every run, dotted keys (e.g. swat_simulator_preset=tiny)")
    parser.add_argument("--output", type=Path, help="output folder (default: benchmark.output_dir)")
    parser.add_argument("--env", help="Kedro configuration environment")
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="project root (default: the current folder)")
    parser.add_argument("--in-process", action="store_true", help="run every pipeline in this process")
    parser.add_argument("--doc", type=Path, help="also write the leaderboard here (docs/leaderboard.md)")
    parser.add_argument("--render", type=Path, nargs="+", metavar="GRID_DIR",
                        help="run nothing: write the leaderboard (to --output) from finished grids' saved results")
    parser.add_argument("--cluster", metavar="local|tcp://HOST:PORT",
                        help="run each cell as a Dask task, on a new local cluster or on the scheduler at that address")
    parser.add_argument("--workers", type=int, help="worker processes of --cluster local (default: the CPU cores)")
    parser.add_argument("--per-entity", action="store_true",
                        help="with --cluster: one task per entity of multi-entity datasets (SMD machines, NAB series)")
    parser.add_argument("--gpu-per-task", type=float, default=0.0, metavar="N",
                        help="with --cluster: each task holds N of the workers' Dask resource GPU")
    parser.add_argument("--allowed-failures", type=int, default=ClusterOptions.allowed_failures, metavar="N",
                        help="with --cluster local: times a task runs again after its worker died (default: 2)")
    parser.add_argument("--dashboard", action="store_true", help="serve --cluster local's dashboard on :8787")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # a JSON run spec: the child of run_isolated
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)


    project = args.project.resolve()
    bootstrap_project(project)
    if args.run_one:
        spec = json.loads(args.run_one)
        row = run_one(project, spec["method"], spec["dataset"], spec["seed"], runtime_params=spec["runtime_params"],
                      env=spec["env"], strategies=spec["strategies"])
        args.result.write_text(json.dumps(row), encoding="utf-8")
        return 0
    with KedroSession.create(project_path=project, env=args.env) as session:
        params = session.load_context().params
    config = dict(params.get("benchmark") or {})
    runtime = _merge(dict(config.get("runtime_params") or {}), runtime_params_from(args.params))
    output = args.output or project / str(config.get("output_dir", "data/08_reporting/benchmark"))
    analysis = analysis_of(config, params["experiment_defaults"]["threshold"])
    cluster = None if args.cluster is None else ClusterOptions(
        args.cluster, workers=args.workers, per_entity=args.per_entity, gpu_per_task=args.gpu_per_task,
        dashboard=args.dashboard, allowed_failures=args.allowed_failures)
    failed = 0
    if args.render:
        render(args.render, output, analysis, argv if argv is not None else sys.argv[1:])
    else:
        runs, _ = run_grid(project, args.methods or config["methods"], args.datasets or config["datasets"],
                           args.seeds or config["seeds"], runtime_params=runtime, output_dir=output, env=args.env,
                           isolate=not args.in_process and bool(config.get("isolate", True)), analysis=analysis,
                           header=provenance(argv if argv is not None else sys.argv[1:]), cluster=cluster)
        failed = int(runs["error"].notna().sum()) if "error" in runs.columns else 0
    if args.doc:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text((output / "leaderboard.md").read_text(encoding="utf-8"), encoding="utf-8")
    sys.stdout.write(f"Leaderboard written to {output / 'leaderboard.md'}" + (f" and {args.doc}" if args.doc else "")
                     + (f"; {failed} runs failed (see runs.csv)" if failed else "") + "\n")
    return 1 if failed else 0


def render(grids: Sequence[Path], output: Path, analysis: Analysis, argv: Sequence[str]) -> None:
    """Write the leaderboard again from finished grids' saved results (runs.csv, entities.csv), several grids'
    together, into ``output``: after a change to the analysis, or to join grids of different methods and datasets.
    Headed by each grid's own provenance and this command's."""
    runs = pd.concat([pd.read_csv(grid / "runs.csv") for grid in grids], ignore_index=True)
    entities = pd.concat([pd.read_csv(grid / "entities.csv", dtype={"entity": str}) for grid in grids],
                         ignore_index=True)
    header = [line for grid in grids if (grid / "provenance.md").exists()
              for line in (grid / "provenance.md").read_text(encoding="utf-8").splitlines() if line]
    rendered = provenance(argv)[0].replace("Generated by", "Rendered from the grids' saved results by", 1)
    output.mkdir(parents=True, exist_ok=True)
    write_results(runs, entities, output, analysis, [line for made in header for line in (made, "")] + [rendered, ""])


def analysis_of(config: Mapping[str, Any], default_threshold: Mapping[str, Any]) -> Analysis:
    """The grid's ``Analysis`` from the ``benchmark`` parameters; the study always includes the project's default
    threshold strategy (``experiment_defaults.threshold``, its ``persistence`` aside)."""
    paired = {k: v for k, v in (config.get("paired") or {}).items() if k in ("metric", "tie", "alpha")}
    study_config = dict(config.get("threshold_study") or {})
    current = {k: v for k, v in default_threshold.items() if k != "persistence"}
    strategies = [dict(s) for s in study_config.get("strategies") or []]
    if strategies and label(current) not in {label(s) for s in strategies}:
        strategies.insert(0, current)
    return Analysis(baselines=tuple(config.get("baselines") or ()), **paired, strategies=tuple(strategies),
                    select_on=tuple(study_config.get("select_on") or ()),
                    current=label(current) if strategies else None)


def provenance(argv: Sequence[str]) -> list[str]:
    """Lines saying how the leaderboard was made: the command, the machine, the date and the commit."""
    import platform  # noqa: PLC0415 - only for the header

    import torch  # noqa: PLC0415 - torch on first use: the grid's parent process only starts runs

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return [f"Generated by `python -m tsad.benchmark {' '.join(argv)}` (never edited by hand) on "
            f"{time.strftime('%Y-%m-%d')}, commit {commit}, on {platform.machine()} with {os.cpu_count()} CPU cores "
            f"({platform.processor() or platform.platform()}), {device}, torch {torch.__version__}.", ""]


if __name__ == "__main__":
    raise SystemExit(main())
