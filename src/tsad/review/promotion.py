"""Champion/challenger promotion: find both, score the held-out split with each, judge by rules, move the aliases.

The registered model named after the dataset (``swat``) is the one in service: its ``champion`` alias is what
operations load (``models:/swat@champion``). Candidates are the versions of ``<method>_<ds>`` models that carry the
``challenger`` alias. Promotion copies the challenger's version into the dataset's model (the copy keeps the
source, tags and card), points ``champion`` at the copy and ``previous_champion`` at the version it replaces.
Judging is pure (``judge``); only ``apply_decision`` and ``rollback`` change the registry.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException

from tsad.core import metrics
from tsad.core.options import from_mapping
from tsad.review import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION


class PromotionError(RuntimeError):
    """The registry does not hold what a promotion or rollback needs (the message says what to run first)."""


@dataclasses.dataclass(frozen=True)
class PromotionRules:
    """What a challenger must show on the held-out split to replace the champion.

    Attributes:
        metric: The metric compared (``roc_auc``, ``pr_auc`` or ``f1`` at each model's own threshold).
        margin: The challenger must reach the champion's metric plus this.
        beat_random_by: The challenger's metric must exceed the random control's by more than this.
        max_flagged_fraction: False-alarm budget: the share of normal (label 0) rows the challenger may flag.
        max_latency_ms: Scoring-latency budget: milliseconds per 1,000 rows through the registered model.
    """

    metric: str = "pr_auc"
    margin: float = 0.0
    beat_random_by: float = 0.0
    max_flagged_fraction: float = 0.02
    max_latency_ms: float = 1000.0

    def __post_init__(self) -> None:
        if self.metric not in ("roc_auc", "pr_auc", "f1"):
            raise ValueError(f"promotion.rules.metric must be roc_auc, pr_auc or f1, got {self.metric!r}")


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One registered version: its registry name and version, and what it is."""

    name: str
    version: str
    method: str
    source: str  # where it came from: the <method>_<ds> version for a copy in the dataset's model

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def rules_from(promotion: dict[str, Any]) -> PromotionRules:
    return from_mapping(PromotionRules, promotion.get("rules") or {}, "promotion.rules")


def _candidate(client: mlflow.MlflowClient, version: Any) -> Candidate:
    tags = version.tags or {}
    source = tags.get("promoted_from", f"{version.name}/{version.version}")
    return Candidate(version.name, str(version.version), tags.get("method", "?"), source)


def resolve(client: mlflow.MlflowClient, uri: str) -> Candidate:
    """The version a ``models:/<name>/<version>`` or ``models:/<name>@<alias>`` URI names."""
    body = uri.removeprefix("models:/")
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            return _candidate(client, client.get_model_version_by_alias(name, alias))
        name, version = body.rsplit("/", 1)
        return _candidate(client, client.get_model_version(name, version))
    except (MlflowException, ValueError) as error:
        raise PromotionError(f"no registered version {uri}: {error}") from error


def find_challenger(client: mlflow.MlflowClient, dataset: str, uri: str | None) -> Candidate:
    """The version named by ``uri``, or else the newest version aliased ``challenger`` among the dataset's models."""
    if uri:
        return resolve(client, uri)
    names = {v.name for v in client.search_model_versions(f"tags.dataset = '{dataset}'")} - {dataset}
    # search results carry no aliases: each model's come from the model itself
    aliased = [client.get_model_version(name, version) for name in sorted(names)
               for alias, version in client.get_registered_model(name).aliases.items() if alias == CHALLENGER]
    if not aliased:
        raise PromotionError(f"no version of a {dataset} model carries the alias {CHALLENGER!r}: train one first "
                             f"(kedro run --pipelines=<method>_{dataset}) or give promotion.challenger")
    return _candidate(client, max(aliased, key=lambda v: v.creation_timestamp))


def find_champion(client: mlflow.MlflowClient, dataset: str, uri: str | None) -> Candidate | None:
    """The version named by ``uri``, or else ``models:/<dataset>@champion``; None when there is none yet."""
    if uri:
        return resolve(client, uri)
    try:
        return _candidate(client, client.get_model_version_by_alias(dataset, CHAMPION))
    except MlflowException:
        return None


def predict(uri: str, rows: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """Scores and flags of ``rows`` through the registered model, and the scoring time in ms per 1,000 rows
    (after loading, the model's whole inference path included)."""
    model = mlflow.pyfunc.load_model(uri)
    started = time.perf_counter()
    predictions = model.predict(rows)
    elapsed = time.perf_counter() - started
    if len(predictions) != len(rows):
        raise PromotionError(f"{uri} returned {len(predictions)} predictions for {len(rows)} rows")
    return (predictions["score"].to_numpy(np.float64), predictions["flag"].to_numpy().astype(bool),
            1000.0 * elapsed / len(rows) * 1000)


def candidate_metrics(labels: np.ndarray, scores: np.ndarray, flags: np.ndarray) -> dict[str, float]:
    """Held-out metrics of one model: threshold-free, at its own bundled threshold, its false-alarm rate and the
    oracle F1 (threshold chosen on these labels: never a basis for promotion, shown for context)."""
    precision, recall, f1 = metrics.precision_recall_f1(labels, flags)
    return {"roc_auc": metrics.roc_auc(labels, scores), "pr_auc": metrics.pr_auc(labels, scores),
            "f1": f1, "precision": precision, "recall": recall,
            "flagged_fraction_normal": float(flags[labels == 0].mean()) if (labels == 0).any() else 0.0,
            "oracle_f1": metrics.best_f1(labels, scores)["f1"]}


def random_control_metrics(labels: np.ndarray, scores: np.ndarray, flag_rate: float) -> dict[str, float]:
    """The random control on the same rows: its U(0, 1) ``scores``, flagging the same share of rows as the
    challenger."""
    flags = scores >= 1 - flag_rate
    precision, recall, f1 = metrics.precision_recall_f1(labels, flags)
    return {"roc_auc": metrics.roc_auc(labels, scores), "pr_auc": metrics.pr_auc(labels, scores), "f1": f1,
            "precision": precision, "recall": recall}


def judge(challenger: dict[str, float], champion: dict[str, float] | None, control: dict[str, float],
          latency_ms: float, rules: PromotionRules) -> list[dict[str, Any]]:
    """Each rule with whether the challenger passes it and the figures it compared."""
    metric = rules.metric
    checks = [{"rule": f"{metric} above the random control's by more than {rules.beat_random_by}",
               "passed": challenger[metric] > control[metric] + rules.beat_random_by,
               "detail": f"challenger {challenger[metric]:.4f}, random control {control[metric]:.4f}"}]
    if champion is not None:
        checks.append({"rule": f"{metric} at least the champion's + {rules.margin}",
                       "passed": challenger[metric] >= champion[metric] + rules.margin,
                       "detail": f"challenger {challenger[metric]:.4f}, champion {champion[metric]:.4f}"})
    checks.append({"rule": f"flags at most {rules.max_flagged_fraction:.2%} of normal rows",
                   "passed": challenger["flagged_fraction_normal"] <= rules.max_flagged_fraction,
                   "detail": f"challenger {challenger['flagged_fraction_normal']:.2%}"})
    checks.append({"rule": f"scores 1,000 rows in at most {rules.max_latency_ms:g} ms",
                   "passed": latency_ms <= rules.max_latency_ms, "detail": f"challenger {latency_ms:.1f} ms"})
    return checks


def apply_decision(decision: dict[str, Any], approve: bool) -> dict[str, Any]:
    """Move the aliases when the rules pass and ``approve`` is given; set ``validation_status`` either way.

    Returns:
        What changed: ``promoted`` (bool), ``champion`` and ``previous_champion`` (URIs after), ``status``.
    """
    client = mlflow.MlflowClient()
    dataset, challenger = decision["dataset"], Candidate(**decision["challenger"])
    champion = Candidate(**decision["champion"]) if decision.get("champion") else None
    passed = all(check["passed"] for check in decision["checks"])
    if not passed:
        _status(client, challenger, "rejected")
        return {"promoted": False, "status": "rejected", "champion": champion and champion.uri,
                "reasons": [c["rule"] for c in decision["checks"] if not c["passed"]]}
    if not approve:
        _status(client, challenger, "passed, awaiting approval")
        return {"promoted": False, "status": "passed, awaiting approval (--params=approve=true)",
                "champion": champion and champion.uri}
    copy = client.copy_model_version(challenger.uri, dataset)
    client.set_model_version_tag(dataset, copy.version, "promoted_from", f"{challenger.name}/{challenger.version}")
    client.set_registered_model_alias(dataset, CHAMPION, copy.version)
    _status(client, challenger, "approved")
    client.set_model_version_tag(dataset, copy.version, "validation_status", "approved")
    out = {"promoted": True, "status": "approved", "champion": f"models:/{dataset}/{copy.version}"}
    if champion is not None and champion.name == dataset:
        client.set_registered_model_alias(dataset, PREVIOUS_CHAMPION, champion.version)
        client.set_model_version_tag(dataset, champion.version, "validation_status", "superseded")
        out["previous_champion"] = champion.uri
    return out


def rollback(dataset: str) -> dict[str, Any]:
    """Point ``champion`` back at ``previous_champion`` and ``previous_champion`` at the version rolled back (so a
    second rollback undoes the first)."""
    client = mlflow.MlflowClient()
    try:
        previous = client.get_model_version_by_alias(dataset, PREVIOUS_CHAMPION)
        current = client.get_model_version_by_alias(dataset, CHAMPION)
    except MlflowException as error:
        raise PromotionError(f"models:/{dataset} has no {CHAMPION} and {PREVIOUS_CHAMPION} to roll back between "
                             f"(promote twice first): {error}") from error
    client.set_registered_model_alias(dataset, CHAMPION, previous.version)
    client.set_registered_model_alias(dataset, PREVIOUS_CHAMPION, current.version)
    client.set_model_version_tag(dataset, current.version, "validation_status", "rolled back")
    client.set_model_version_tag(dataset, previous.version, "validation_status", "approved")
    return {"champion": f"models:/{dataset}/{previous.version}",
            "previous_champion": f"models:/{dataset}/{current.version}"}


def _status(client: mlflow.MlflowClient, candidate: Candidate, status: str) -> None:
    client.set_model_version_tag(candidate.name, candidate.version, "validation_status", status)
