"""Parameter resolution: defaults written once, per-method defaults, per-dataset overrides.

``conf/base/parameters/experiments.yml`` calls these resolvers (registered in ``settings.py``) so that
``data.<ds>`` and ``experiments.<method>_<ds>`` hold complete, resolved parameters for every dataset and
every (method, dataset) pair, while the files only hold what differs.
"""

from __future__ import annotations

from typing import Any

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
            if resolved.get("model", {}).get("checkpoint_dir") == "auto":  # one folder per experiment
                resolved["model"]["checkpoint_dir"] = f"data/06_models/{ds}/{method}/checkpoints"
            out[f"{method}_{ds}"] = resolved
    return out


CUSTOM_RESOLVERS = {
    "merge": merged,
    "tsad.dataset_parameters": dataset_parameters,
    "tsad.experiment_parameters": experiment_parameters,
}
