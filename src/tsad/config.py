"""Parameter resolution: defaults written once, per-method defaults, per-dataset overrides.

The project's config loader (``TsadConfigLoader``, set in ``settings.py``) adds two computed keys to the
parameters after every environment and runtime override is merged: ``data.<ds>`` (dataset_defaults <
datasets.<ds>) and ``experiments.<method>_<ds>`` (experiment_defaults < methods.<method> <
datasets.<ds>.methods.<method>). The files hold only what differs; the nodes read the complete values.
"""

from __future__ import annotations

from typing import Any

from kedro.config import OmegaConfigLoader
from omegaconf import DictConfig, OmegaConf


def _plain(node: Any) -> dict:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node or {})


def merged(*configs: Any) -> dict:
    """Deep merge, later configs overriding earlier ones (the ``merge`` resolver)."""
    return _plain(OmegaConf.merge(*(OmegaConf.create(_plain(c)) for c in configs)))


def dataset_parameters(defaults: Any, datasets: Any) -> dict:
    """``{ds: defaults < datasets[ds]}``, without the per-method overrides (``methods`` key)."""
    out = {}
    for name, config in _plain(datasets).items():
        overrides = {k: v for k, v in (config or {}).items() if k != "methods"}
        out[name] = merged(defaults, overrides)
    return out


def experiment_parameters(defaults: Any, methods: Any, datasets: Any) -> dict:
    """``{f"{m}_{ds}": defaults < methods[m] < datasets[ds]["methods"][m]}`` for every pair.

    A model ``checkpoint_dir: auto`` becomes ``data/06_models/<ds>/<m>/checkpoints``.
    """
    methods, datasets = _plain(methods), _plain(datasets)
    out = {}
    for ds, ds_config in datasets.items():
        per_method = dict((ds_config or {}).get("methods") or {})
        unknown = sorted(set(per_method) - set(methods))
        if unknown:
            raise ValueError(f"datasets.{ds}.methods overrides unknown method(s) {unknown}; known: {sorted(methods)}")
        for method, method_config in methods.items():
            resolved = merged(defaults, method_config, per_method.get(method, {}))
            resolved["threshold"] = _threshold(defaults, method_config, per_method.get(method, {}))
            if resolved.get("model", {}).get("checkpoint_dir") == "auto":  # one folder per experiment
                resolved["model"]["checkpoint_dir"] = f"data/06_models/{ds}/{method}/checkpoints"
            out[f"{method}_{ds}"] = resolved
    return out


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


CUSTOM_RESOLVERS = {"merge": merged}


class TsadConfigLoader(OmegaConfigLoader):
    """Kedro's OmegaConfigLoader, plus the computed ``data`` and ``experiments`` parameters.

    They are computed after ``conf/local`` (or another environment) and ``--params`` are merged, so an
    override of ``datasets.swat.windowing.window`` anywhere reaches ``data.swat.windowing.window``.
    """

    def __getitem__(self, key: str) -> Any:
        config = super().__getitem__(key)
        if key != "parameters" or "datasets" not in config:
            return config
        if "data" in config or "experiments" in config:
            raise ValueError("'data' and 'experiments' are computed parameters; set datasets.<ds>, "
                             "dataset_defaults, methods.<method> or experiment_defaults instead")
        return config | {
            "data": dataset_parameters(config.get("dataset_defaults", {}), config["datasets"]),
            "experiments": experiment_parameters(config.get("experiment_defaults", {}), config.get("methods", {}),
                                                 config["datasets"]),
        }
