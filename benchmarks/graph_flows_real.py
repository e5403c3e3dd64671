"""Benchmark: the graph flows (GANF, MTGFlow, STF²-DGL) beside PCA and the random control on real data, under our
protocol and under the family's published "zero known label" protocol (../shared/docs/methods.md §5.4), per entity
and their mean (not a test).

Each method runs ``<method>_<ds>`` in-process with ``--env shared`` (../shared/data): the flows evaluate both
protocols in one MLflow run (``datasets.<ds>.protocols.zero_label.beside``); PCA runs ``pca_<ds>`` and then
``pca_<ds>_zero_label``. Under ours the figure is the point-wise test ROC AUC (scores per timestamp; test labels
used only to evaluate); under the published protocol it is the window ROC AUC (window label: any anomalous row),
which is what the published tables give (MTGFlow 91.3 on SMD, 67.2 on MSL). The random control is the one each run
evaluates beside the model. Every run writes under a scratch ``run_root`` and a scratch MLflow store.

    .venv/bin/python benchmarks/graph_flows_real.py --datasets smd msl [--methods ganf mtgflow stf2dgl pca]
        [--params KEY=VALUE ...] [--output data/08_reporting/graph_flows]

``--params`` are runtime parameters for every run (e.g. ``experiment_defaults.model.epochs=10`` does not exist:
use ``datasets.smd.methods.mtgflow.model.epochs=10``; entities: ``datasets.smd.ingestion.entities=[machine-1-1]``).
``--smoke`` runs PCA on the tiny simulated SWaT (no shared data needed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tsad.benchmark import runtime_params_from

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL = "zero_label"
PUBLISHED_AUROC = {"smd": {"ganf": 89.2, "mtgflow": 91.3}, "msl": {"ganf": 64.5, "mtgflow": 67.2}}


class TableRecorder:
    """Kedro hooks keeping every saved evaluation table and window-metrics record by dataset name, and node times."""

    def __init__(self) -> None:
        self.saved: dict[str, Any] = {}
        self.times: dict[str, float] = {}
        self._started: dict[str, float] = {}

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if dataset_name.endswith(("metrics_by_entity", "window_metrics")):
            self.saved[dataset_name] = data

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        self.times[node.name] = time.perf_counter() - self._started.pop(node.name)


def run_pipeline(project: Path, pipeline: str, params: Mapping[str, Any], env: str | None) -> TableRecorder:
    recorder = TableRecorder()
    with KedroSession.create(project_path=project, env=env, runtime_params=dict(params)) as session:
        session._hook_manager.register(recorder)  # noqa: SLF001 - no public per-session hook registration
        session.run(pipeline_names=[pipeline])
    return recorder


def ours_rows(recorder: TableRecorder, ds: str, method: str) -> list[dict[str, Any]]:
    """Point-wise figures under our protocol, per entity (model and random control)."""
    rows = []
    for name, recorded_as in ((f"{ds}.{method}.metrics_by_entity", method),
                              (f"{ds}.{method}.random_control_metrics_by_entity", "random_control")):
        table = recorder.saved.get(name)
        if table is None:
            continue
        for entity, values in table.drop(index="mean", errors="ignore").iterrows():
            rows.append({"dataset": ds, "protocol": "ours", "method": recorded_as, "entity": str(entity),
                         "roc_auc": values.get("roc_auc"), "pr_auc": values.get("pr_auc"), "f1": values.get("f1"),
                         "pa_f1": values.get("pa_f1"), "oracle_f1": values.get("oracle_f1")})
    return rows


def published_rows(recorder: TableRecorder, ds: str, method: str) -> list[dict[str, Any]]:
    """Window figures under the zero-known-label protocol, per entity (model and random control)."""
    rows = []
    for name, recorded_as in ((f"{ds}.{method}.{PROTOCOL}.window_metrics", method),
                              (f"{ds}.{method}.{PROTOCOL}.random_control_window_metrics", "random_control")):
        metrics = recorder.saved.get(name)
        if not metrics:
            continue
        entities: dict[str, dict[str, float]] = {}
        for key, record in metrics.items():
            value = record["value"] if isinstance(record, Mapping) else record
            if key.startswith("entity."):
                entity, _, metric = key[len("entity."):].rpartition(".")
                entities.setdefault(entity, {})[metric] = value
            elif "window_entities_evaluated" not in metrics or not entities:
                entities.setdefault("series", {})[key] = value
        if len(entities) > 1:
            entities.pop("series", None)
        for entity, values in entities.items():
            rows.append({"dataset": ds, "protocol": PROTOCOL, "method": recorded_as, "entity": entity,
                         "roc_auc": values.get("window_roc_auc"), "pr_auc": values.get("window_pr_auc"),
                         "f1": values.get("window_f1"), "pa_f1": values.get("window_pa_f1"),
                         "oracle_f1": values.get("window_oracle_f1")})
    return rows


def fit_seconds(recorder: TableRecorder, ds: str, method: str) -> dict[str, float]:
    ours = sum(t for n, t in recorder.times.items() if n.startswith(f"{ds}.{method}.fit_detector"))
    published = sum(t for n, t in recorder.times.items() if n.startswith(f"{ds}.{method}.{PROTOCOL}.fit_detector"))
    return {"ours": ours, PROTOCOL: published}


def summary(entities: pd.DataFrame) -> pd.DataFrame:
    """Mean over entities of each (dataset, protocol, method): AUROC and AUPRC in %, and the entity count."""
    grouped = entities.groupby(["dataset", "protocol", "method"])
    table = grouped[["roc_auc", "pr_auc"]].mean() * 100
    table["entities"] = grouped.size()
    return table.round(1)


def markdown_table(table: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs tabulate, which the project does not install)."""
    cells = [[("" if pd.isna(v) else str(v)) for v in row] for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def markdown(entities: pd.DataFrame, times: pd.DataFrame) -> str:
    lines = ["# Graph flows on real data", ""]
    table = summary(entities).reset_index()
    table["published_auroc"] = [PUBLISHED_AUROC.get(d, {}).get(m) if p == PROTOCOL else None
                                for d, p, m in zip(table["dataset"], table["protocol"], table["method"], strict=True)]
    lines += [markdown_table(table), "", "Per entity (ROC AUC, %):", ""]
    wide = (entities.pivot_table(index=["dataset", "entity"], columns=["protocol", "method"], values="roc_auc")
            * 100).round(1)
    wide.columns = [f"{p}:{m}" for p, m in wide.columns]
    lines += [markdown_table(wide.reset_index()), "", "Training seconds:", "",
              markdown_table(times), ""]
    return "\n".join(lines)


def smoke_project(folder: Path) -> Path:
    """The project's configuration in ``folder`` (no conf/local): the smoke run writes nothing in the checkout."""
    shutil.copytree(ROOT / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    shutil.copy(ROOT / "pyproject.toml", folder)
    (folder / "src").mkdir()
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["smd", "msl"])
    parser.add_argument("--methods", nargs="+", default=["ganf", "mtgflow", "stf2dgl", "pca"])
    parser.add_argument("--params", nargs="*", default=[])
    parser.add_argument("--env", default="shared")
    parser.add_argument("--output", type=Path, default=None, help="default: data/08_reporting/graph_flows (with "
                        "--smoke: nowhere)")
    parser.add_argument("--smoke", action="store_true", help="PCA on the tiny simulated SWaT under both protocols")
    args = parser.parse_args(argv)
    if args.smoke:
        args.datasets, args.methods, args.env = ["swat"], ["pca"], None
        args.params = [*args.params, "swat_simulator_preset=tiny"]
    scratch = Path(tempfile.mkdtemp(prefix="graph_flows_"))
    project = smoke_project(scratch / "project") if args.smoke else ROOT
    os.chdir(project)  # the configuration and the data_root (../shared/data under --env shared) are the project's
    bootstrap_project(project)
    os.environ["TSAD_MLFLOW_TRACKING_URI"] = f"sqlite:///{scratch}/mlflow.db"
    params = runtime_params_from(args.params) | {"run_root": str(scratch / "runs")}
    entity_rows, time_rows = [], []
    try:
        for ds in args.datasets:
            for method in args.methods:
                pipelines = [f"{method}_{ds}"] + ([f"{method}_{ds}_{PROTOCOL}"] if method == "pca" else [])
                for pipeline in pipelines:
                    started = time.perf_counter()
                    recorder = run_pipeline(project, pipeline, params, args.env)
                    entity_rows += ours_rows(recorder, ds, method) + published_rows(recorder, ds, method)
                    time_rows.append({"dataset": ds, "pipeline": pipeline, "wall_s": round(time.perf_counter()
                                      - started, 1)} | {f"fit_s.{k}": round(v, 1) for k, v in
                                                        fit_seconds(recorder, ds, method).items()})
                    print(json.dumps(time_rows[-1]), flush=True)  # noqa: T201
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    entities = pd.DataFrame(entity_rows).drop_duplicates(["dataset", "protocol", "method", "entity"])
    times = pd.DataFrame(time_rows)
    text = markdown(entities, times)
    output = args.output or (None if args.smoke else ROOT / "data/08_reporting/graph_flows")
    if output:
        output.mkdir(parents=True, exist_ok=True)
        entities.to_csv(output / "entities.csv", index=False)
        (output / "graph_flows.md").write_text(text, encoding="utf-8")
    print(text)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
