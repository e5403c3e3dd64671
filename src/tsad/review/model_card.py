"""The model card: what a reviewer needs on a registered version's page, as Markdown (the version's description).

``card_facts`` gathers the facts from the run's catalog, parameters and MLflow run; ``model_card`` writes them out.
The card says what the model was trained on (dataset, fingerprint, periods, channels with their grey-relational
grades, window), what it is (method, the parameters that differ from the method's defaults), how it decides (the
threshold strategy and value), how good it is beside chance (headline metrics next to the random control, the
oracle named so, the flagged fraction), how it was made (training time, hardware, git commit, the run's plots),
the parameters the run changed from the project's configuration, and its known limits.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from typing import Any

from tsad.models import registry

CARD_METRICS = ("roc_auc", "pr_auc", "vus_pr", "f1", "precision", "recall", "event_f1", "pa_f1")


def non_default_parameters(model: dict[str, Any]) -> dict[str, Any]:
    """The model parameters that differ from the detector's own defaults (its config dataclass)."""
    cls = registry.get(model.get("detector") or model["method"])
    defaults = {f.name: f.default for f in dataclasses.fields(cls.config_class)
                if f.default is not dataclasses.MISSING}
    skip = {"method", "detector", "checkpoint_dir", "progress"}
    return {k: v for k, v in model.items() if k not in skip and _plain(defaults.get(k, object())) != _plain(v)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def hardware() -> str:
    """The machine a model was trained on, in words."""
    import torch  # noqa: PLC0415 - the hooks load with the project settings: torch only once a model registers

    cpu = (f"{os.cpu_count()} CPU cores ({platform.machine()}), torch {torch.__version__} with "
           f"{torch.get_num_threads()} threads")
    if torch.cuda.is_available():
        return f"{cpu}; GPU {torch.cuda.get_device_name(0)}"
    return f"{cpu}; no GPU"


def model_card(facts: dict[str, Any]) -> str:
    """The Markdown card of one registered version (``card_facts`` for the keys)."""
    lines = [f"# {facts['name']} version {facts['version']}", "",
             f"**{facts['method']}** on **{facts['dataset']}**"
             + (f" under the `{facts['protocol']}` protocol" if facts.get("protocol") else "")
             + f", registered by run `{facts['run_id']}`.", ""]
    if facts.get("limits"):
        lines += ["## Known limits", ""] + [f"- {limit}" for limit in facts["limits"]] + [""]
    lines += ["## Test metrics", "", "| metric | this model | random control |", "|---|---|---|"]
    metrics, control = facts["metrics"], facts["random_control"]
    for key in CARD_METRICS:
        if key in metrics:
            lines.append(f"| {key} | {metrics[key]:.4f} | {_number(control.get(key))} |")
    if "oracle_f1" in metrics:
        lines.append(f"| oracle_f1 (threshold chosen on test labels, not attainable) | {metrics['oracle_f1']:.4f} | "
                     f"{_number(control.get('oracle_f1'))} |")
    if "flagged_fraction" in metrics:
        lines += ["", f"Flagged fraction of test rows: {metrics['flagged_fraction']:.4f}."]
    lines += ["", "## Model", "", f"- Method: `{facts['method']}`"]
    changed = facts.get("model_parameters") or {}
    lines += ["- Parameters that differ from the method's defaults: "
              + (", ".join(f"`{k}` = `{json.dumps(v)}`" for k, v in sorted(changed.items())) or "none")]
    threshold = facts["threshold"]
    options = {k: v for k, v in threshold.items() if k not in ("strategy", "values", "state")}
    values = threshold.get("values", {})
    shown = next(iter(values.values())) if len(values) == 1 else f"one per entity ({len(values)})"
    lines += [f"- Threshold: `{threshold['strategy']}` {json.dumps(options)}, fitted on validation scores: "
              f"`{shown}`"]
    lines += ["", "## Provenance", "",
              f"- Run time (data, training, evaluation): {facts['training_seconds']:.0f} s, started {facts['started']}",
              f"- Hardware: {facts['hardware']}",
              f"- Git commit: `{facts['git_commit']}`",
              "- Parameters changed for this run (`--params`): "
              + (f"`{json.dumps(facts['overrides'], sort_keys=True)}`" if facts.get("overrides") else "none"),
              f"- The run: [{facts['run_id']}]({facts['run_link']})"]
    if facts.get("plots"):
        lines += ["- Plots in the run's artifacts: " + ", ".join(f"`{p}`" for p in facts["plots"])]
    lines += ["", "## Review", "",
              "New versions get the alias `challenger` and `validation_status: pending`. "
              f"`kedro run --pipelines=promote_{facts['dataset']}` compares the challenger with the champion on the "
              "held-out test split and moves the alias only with `--params=approve=true`."]
    periods = facts.get("periods") or {}
    lines += ["", "## Data", "",
              f"- Dataset fingerprint (training and test data): `{facts['fingerprint']}`",
              f"- Training period: {' to '.join(periods.get('train', ['unknown']))} "
              f"({facts.get('rows_train', '?')} rows after cleaning)",
              f"- Test period: {' to '.join(periods.get('test', ['unknown']))}",
              f"- Window: {facts['windowing'].get('window')} rows, stride {facts['windowing'].get('stride', 1)}",
              f"- Channels dropped as constant in training: {', '.join(facts.get('dropped_constant') or []) or 'none'}",
              "- Of these, kept as evidence (a row where one departs from its training value is flagged, whatever "
              f"its score): {', '.join(facts.get('constant_evidence') or []) or 'none'}",
              "", f"### Channels the model watches ({len(facts['channels'])}, grey-relational grade)", "",
              "| channel | grade |", "|---|---|"]
    lines += [f"| {name} | {'' if grade is None else f'{grade:.3f}'} |" for name, grade in facts["channels"]]
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
