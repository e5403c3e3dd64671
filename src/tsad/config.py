"""Parameter resolution: defaults written once, per-method defaults, per-dataset overrides.

The project's config loader (``TsadConfigLoader``, set in ``settings.py``) adds two computed keys to the
parameters after every environment and runtime override is merged: ``data.<ds>`` (dataset_defaults <
datasets.<ds>) and ``experiments.<method>_<ds>`` (experiment_defaults < methods.<method> <
datasets.<ds>.methods.<method>). The files hold only what differs; the nodes read the complete values.
"""

from __future__ import annotations

import dataclasses
import os
import weakref
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import click
from kedro.config import MissingConfigException, OmegaConfigLoader
from kedro.framework.project import pipelines, settings
from kedro.utils import find_kedro_project
from omegaconf import DictConfig, OmegaConf
from omegaconf.resolvers import oc

from tsad.core import thresholds
from tsad.core.evaluation import EvaluationOptions
from tsad.core.options import from_mapping
from tsad.core.stage_options import DATA_STAGES, EXPERIMENT_STAGES
from tsad.models import registry
from tsad.pipelines.ingestion.zero_label import zero_label_options
from tsad.tracking_store import with_busy_timeout


def _plain(node: Any) -> dict:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node or {})


def merged(*configs: Any) -> dict:
    """Deep merge, later configs overriding earlier ones."""
    return _plain(OmegaConf.merge(*(OmegaConf.create(_plain(c)) for c in configs)))


# Keys of a datasets.<ds> entry that are not stage parameters: per-method overrides, and protocols.
_NOT_STAGES = {"methods", "protocols"}
# Keys of a protocol entry that shape the pipelines (tsad.pipeline_registry) rather than a stage.
PROTOCOL_KEYS = {"beside", "window_metrics"}


def dataset_parameters(defaults: Any, datasets: Any) -> dict:
    """``{ds: defaults < datasets[ds]}``, without the per-method overrides, and for each protocol of the dataset
    ``{ds: {protocol: defaults < datasets[ds] < datasets[ds].protocols[protocol]}}`` (``data.nab.paper``)."""
    out = {}
    for name, entry in _plain(datasets).items():
        config = entry or {}
        stages = merged(defaults, {k: v for k, v in config.items() if k not in _NOT_STAGES})
        _check_stages(stages, DATA_STAGES, f"data.{name}", f"datasets.{name}")
        out[name] = stages
        for protocol, overrides in (config.get("protocols") or {}).items():
            stages[protocol] = merged(stages, {k: v for k, v in (overrides or {}).items()
                                               if k not in _NOT_STAGES | PROTOCOL_KEYS})
            _check_stages(stages[protocol], DATA_STAGES, f"data.{name}.{protocol}",
                          f"datasets.{name}.protocols.{protocol}")
    return out


def _check_stages(blocks: Mapping[str, Any], stages: Mapping[str, type], where: str, source: str) -> None:
    """Check each stage block against its options class (``tsad.core.stage_options``), naming the key; and the
    zero-label protocol's options of a dataset's ingestion block (the rest of it is the dataset reader's)."""
    if "ingestion" in blocks:
        try:
            zero_label_options(blocks["ingestion"], f"{where}.ingestion")
        except (TypeError, ValueError) as error:
            raise ParameterError(f"{error} (set in {source}.ingestion, the defaults or --params)") from error
    for stage, options in stages.items():
        if stage not in blocks:
            continue
        try:
            from_mapping(options, blocks[stage] or {}, f"{where}.{stage}")
        except (TypeError, ValueError) as error:
            raise ParameterError(f"{error} (set in {source}.{stage}, the defaults or --params)") from error


def protocols(datasets: Any) -> dict[str, dict[str, dict]]:
    """``{ds: {protocol: entry}}``: the evaluation protocols each dataset declares besides ours
    (``datasets.<ds>.protocols.<protocol>``), with their ``beside`` (methods whose run on the dataset evaluates
    under the protocol too) and ``window_metrics`` (window-level metrics as well)."""
    return {name: {p: dict(entry or {}) for p, entry in ((config or {}).get("protocols") or {}).items()}
            for name, config in _plain(datasets).items() if (config or {}).get("protocols")}


class ParameterError(ValueError):
    """A parameter the method or stage does not know, or of the wrong type; raised before any node runs."""


def experiment_parameters(defaults: Any, methods: Any, datasets: Any, only: Collection[str] | None = None,
                          run_root: str = "data") -> dict:
    """``{f"{m}_{ds}": defaults < methods[m] < datasets[ds]["methods"][m]}`` for every pair, or for the pairs
    named in ``only``.

    The ``model`` block is completed with the method's own defaults (its config dataclass, where each default is
    written once) and checked against it. A method with checkpoints writes them to
    ``<run_root>/06_models/<ds>/<m>/checkpoints`` unless ``checkpoint_dir`` names another folder (null: none);
    ``run_root`` is the folder the run writes to (``globals.yml``'s, or ``--params=run_root=...``).

    Raises:
        ParameterError: A model parameter the method does not know, or of the wrong type, named in full.
    """
    methods, datasets = _plain(methods), _plain(datasets)
    out = {}
    for ds, ds_config in datasets.items():
        per_method = _method_overrides(ds_config, methods, f"datasets.{ds}")
        chosen = {m: c for m, c in methods.items() if only is None or f"{m}_{ds}" in only}
        for method, method_config in chosen.items():
            out[f"{method}_{ds}"] = _experiment(defaults, method, ds, f"{run_root}/06_models/{ds}/{method}",
                                                  method_config, per_method.get(method, {}))
        for protocol, entry in ((ds_config or {}).get("protocols") or {}).items():  # experiments.<m>_<ds>.<protocol>
            in_protocol = _method_overrides(entry, methods, f"datasets.{ds}.protocols.{protocol}")
            for method, method_config in chosen.items():
                out[f"{method}_{ds}"][protocol] = _experiment(
                    defaults, method, ds, f"{run_root}/06_models/{ds}/{method}.{protocol}", method_config,
                    per_method.get(method, {}),
                    in_protocol.get(method, {}))
    return out


def _method_overrides(config: Mapping[str, Any] | None, methods: Mapping[str, Any], where: str) -> dict:
    per_method = dict((config or {}).get("methods") or {})
    unknown = sorted(set(per_method) - set(methods))
    if unknown:
        raise ValueError(f"{where}.methods overrides unknown method(s) {unknown}; known: {sorted(methods)}")
    return per_method


def _experiment(defaults: Any, method: str, dataset: str, folder: str, *configs: Any) -> dict:
    resolved = merged(defaults, *configs)
    resolved["threshold"] = _threshold(defaults, *configs)
    resolved["model"] = complete_model(method, dataset, resolved.get("model") or {}, folder)
    where, source = f"experiments.{method}_{dataset}", f"methods.{method} or datasets.{dataset}.methods.{method}"
    _check_stages(resolved, EXPERIMENT_STAGES, where, source)
    try:
        if "threshold" in resolved and resolved["threshold"]:
            thresholds.check_options(resolved["threshold"])
        if "evaluation" in resolved:
            EvaluationOptions.from_params(resolved["evaluation"])
    except (TypeError, ValueError) as error:
        raise ParameterError(f"{where}: {error} (set in {source}, the defaults or --params)") from error
    return resolved


def complete_model(method: str, dataset: str, model: Mapping[str, Any], folder: str | None = None) -> dict:
    """The model parameters of ``method`` on ``dataset``: every option of the detector, checked.

    ``model`` holds what the parameters files and ``--params`` set; ``detector`` (an import path) picks a class
    that is not built in. Checkpoints go to ``<folder>/checkpoints`` (default ``data/06_models/<dataset>/<method>``).
    """
    where = f"experiments.{method}_{dataset}.model"
    given = {"method": method} | dict(model)
    try:
        config = registry.build(given, where).config
    except (TypeError, ValueError) as error:
        raise ParameterError(f"{error} (set in methods.{method}.model, datasets.{dataset}.methods.{method}.model "
                             "or --params)") from error
    complete = dataclasses.asdict(config)
    if "checkpoint_dir" in complete and model.get("checkpoint_dir", "auto") == "auto":  # one folder per experiment
        complete["checkpoint_dir"] = f"{folder or f'data/06_models/{dataset}/{method}'}/checkpoints"
    return ({"detector": given["detector"]} if "detector" in given else {}) | complete


def _threshold(*configs: Any) -> dict:
    """Threshold options: a config that names another ``strategy`` replaces the earlier options (their keys
    belong to another strategy), keeping only ``persistence``; otherwise options merge."""
    out: dict = {}
    for config in configs:
        block = dict(_plain(config).get("threshold") or {})
        if "strategy" in block and block["strategy"] != out.get("strategy"):
            out = {k: v for k, v in out.items() if k == "persistence"}
        out = merged(out, block)
    return out


# The loader's arguments (settings.CONFIG_LOADER_ARGS), here so that project_parameters can make a loader without
# importing the settings module, which imports this one.
LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # oc.env lets mlflow.yml take the tracking URI from the environment (tests point it at a temp store), and
    # tsad.sqlite_busy_timeout makes runs at once wait for each other's writes to a SQLite store.
    "custom_resolvers": {"oc.env": oc.env, "tsad.sqlite_busy_timeout": with_busy_timeout},
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
    # conf/local (or another env) overrides parameters key by key instead of replacing whole top-level keys,
    # so conf/local/parameters.yml may hold `datasets: {smd: {windowing: {window: 1}}}` alone.
    "merge_strategy": {"parameters": "soft"},
}


class TsadConfigLoader(OmegaConfigLoader):
    """Kedro's OmegaConfigLoader, plus the computed ``data`` and ``experiments`` parameters.

    They are computed after ``conf/local`` (or another environment) and ``--params`` are merged, so an
    override of ``datasets.swat.windowing.window`` anywhere reaches ``data.swat.windowing.window``. Under
    ``kedro run``, ``experiments`` holds those the run's pipelines read (``requested_experiments``).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        global _latest_loader  # noqa: PLW0603 - the pipeline registry reads the session's loader (project_parameters)
        _latest_loader = weakref.ref(self)

    def declared_parameters(self) -> dict[str, Any]:
        """The parameters as the files and ``--params`` declare them, without the computed ``data`` and
        ``experiments`` (computing every experiment takes a while, and the catalog and pipeline registry need
        only the declared datasets and methods)."""
        return super().__getitem__("parameters")

    def run_root(self) -> str:
        """The folder this run writes to: ``--params=run_root=...``, else ``globals.yml``'s ``run_root``."""
        try:
            declared = super().__getitem__("globals").get("run_root", "data")
        except (KeyError, MissingConfigException):
            declared = "data"
        return str((self.runtime_params or {}).get("run_root") or declared)

    def __getitem__(self, key: str) -> Any:
        config = super().__getitem__(key)
        if key == "catalog":  # entries of the datasets declared by a source block; explicit entries win
            return source_catalog_entries(self.declared_parameters(), self.runtime_params or {}) | config
        if key != "parameters" or "datasets" not in config:
            return config
        if "data" in config or "experiments" in config:
            raise ValueError("'data' and 'experiments' are computed parameters; set datasets.<ds>, "
                             "dataset_defaults, methods.<method> or experiment_defaults instead")
        return config | {
            "data": dataset_parameters(config.get("dataset_defaults", {}), config["datasets"]),
            "experiments": experiment_parameters(config.get("experiment_defaults", {}), config.get("methods", {}),
                                                 config["datasets"], only=requested_experiments(),
                                                 run_root=self.run_root()),
        }


def requested_experiments() -> set[str] | None:
    """The experiments (``<method>_<ds>``) read by the pipelines of the ``kedro run`` command being run, or None
    (every experiment) elsewhere: in-process sessions, notebooks, kedro-viz.

    Computing and checking the ~100 experiments of the grid, and Kedro making a catalog entry of each of their
    parameters, take seconds that ``kedro run --pipelines=pca_swat`` does not need. ``KedroSession.run`` builds
    the pipelines before the catalog (once, ``tsad.pipeline_registry``), so reading their inputs here is free.
    """
    context = click.get_current_context(silent=True)
    if context is None:
        return None
    from kedro.framework.cli.project import run  # noqa: PLC0415 - the CLI module, only under a command

    if context.command is not run:
        return None
    names = context.params.get("pipelines") or [context.params.get("pipeline") or "__default__"]
    if not all(name in pipelines for name in names):  # the session names the unknown one
        return None
    prefix = "params:experiments."
    return {name.removeprefix(prefix).split(".")[0] for pipeline in names
            for name in pipelines[pipeline].inputs() if name.startswith(prefix)}


# ------------------------------------------------------------------------------ datasets declared in configuration
# A dataset is declared by ONE parameters entry, datasets.<name>.source (CSV or Parquet files, see
# tsad.connectors.table). The config loader derives its catalog entries from it (Kedro datasets cannot read
# parameters), and the pipeline registry derives its pipelines (project_parameters below).
TABLE_SOURCE_TYPE = "tsad.datasets.TableSourceDataset"
_latest_loader: weakref.ref | None = None  # the TsadConfigLoader made last (by the running KedroSession)


def declared_sources(parameters: Mapping[str, Any]) -> dict[str, dict]:
    """``{name: source block}`` of the datasets declared by ``datasets.<name>.source`` in the parameters."""
    datasets = _plain(parameters.get("datasets") or {})
    return {name: dict(config["source"]) for name, config in datasets.items()
            if isinstance(config, Mapping) and config.get("source") is not None}


def source_catalog_entries(parameters: Mapping[str, Any], runtime_params: Mapping[str, Any]) -> dict[str, dict]:
    """The catalog entries of every declared dataset: ``<name>.source_train``, ``<name>.source_test`` and
    ``<name>.new_data`` (batch inference; ``--params=new_data=<path>`` or the test files)."""
    entries: dict[str, dict] = {}
    for name, source in declared_sources(parameters).items():
        common = {"type": TABLE_SOURCE_TYPE, "dataset": name, "source": source,
                  "metadata": {"kedro-viz": {"layer": "raw"}}}
        entries[f"{name}.source_train"] = common | {"split": "train"}
        entries[f"{name}.source_test"] = common | {"split": "test"}
        entries[f"{name}.new_data"] = common | {"split": "new", "filepath": runtime_params.get("new_data")}
    return entries


def project_parameters() -> dict[str, Any]:
    """The declared parameters of the project being run (``TsadConfigLoader.declared_parameters``), for the
    pipeline registry (Kedro calls it without arguments).

    A ``KedroSession`` creates its config loader (with its ``env``, ``conf_source`` and runtime parameters) just
    before it asks for the pipelines, so the loader made last is the session's, when its configuration folder
    is the one this run reads: ``--conf-source``/``--env`` of the Kedro command line when there is one, else
    ``conf`` of the Kedro project around the working directory with ``KEDRO_ENV`` (or the default ``local``).
    Otherwise (``kedro registry list``, a bare ``register_pipelines()``) a loader is made for that folder.

    Returns:
        The parameters, or ``{}`` when the working directory is in no Kedro project.
    """
    conf_source, env = _requested_configuration()
    loader = _latest_loader() if _latest_loader is not None else None
    if loader is None or Path(loader.conf_source).resolve() != conf_source.resolve():
        if not conf_source.is_dir():
            return {}
        loader = TsadConfigLoader(str(conf_source), env=env, **LOADER_ARGS)
    return loader.declared_parameters()


def _requested_configuration() -> tuple[Path, str | None]:
    context = click.get_current_context(silent=True)
    options = context.params if context is not None else {}
    env = options.get("env") or os.getenv("KEDRO_ENV")
    if options.get("conf_source"):
        return Path(options["conf_source"]), env
    project = find_kedro_project(Path.cwd()) or Path.cwd()
    return project / settings.CONF_SOURCE, env
