"""Promotion nodes: score the held-out split with the champion and the challenger, judge, report, move aliases.

``promote_<ds>`` reads the dataset's test split as the training runs left it (``<ds>.raw_test``, the frozen held-out
data both models were evaluated on), turns it into the rows a registered model takes, and scores it with each
model's whole inference path and its own bundled threshold. The decision follows ``promotion.rules``; the aliases
move only when they pass and ``approve`` is true (``tsad.review.promotion``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tsad.core import metrics
from tsad.core.frames import LABEL
from tsad.review import promotion
from tsad.serving import rows_from_frame


def score_candidates(raw_test: pd.DataFrame, promotion_params: dict[str, Any], windowing: dict[str, Any], *,
                     dataset: str, describe_input: Callable) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Scores and flags of every held-out row by the challenger and the champion (if any), with the labels.

    Args:
        raw_test: The dataset's typed test split, labelled.
        promotion_params: ``challenger`` and ``champion`` (model URIs, or null to find them) and ``rules``.
        windowing: The dataset's windowing parameters (the input format's example needs them).
        dataset: The dataset's name (its registered model holds the champion).
        describe_input: The dataset's input-format function (``DatasetSpec.describe_input``).

    Returns:
        A frame with ``label``, ``random_control_score``, ``<role>_score`` and ``<role>_flag`` per row, and the
        candidates with their
        scoring latency (ms per 1,000 rows).
    """
    if LABEL not in raw_test.columns:
        raise promotion.PromotionError(f"the {dataset} test split has no labels: promotion compares models on "
                                       "labelled held-out data")
    client = mlflow.MlflowClient()
    challenger = promotion.find_challenger(client, dataset, promotion_params.get("challenger"))
    champion = promotion.find_champion(client, dataset, promotion_params.get("champion"))
    if champion is not None and champion.source == f"{challenger.name}/{challenger.version}":
        raise promotion.PromotionError(f"{challenger.uri} is already the champion ({champion.uri})")
    rows = rows_from_frame(raw_test, describe_input(raw_test, windowing)[1])
    frame = pd.DataFrame({"label": raw_test[LABEL].to_numpy() > 0})
    # the random control's U(0, 1) scores, drawn once: the judgement and the plot read the same ones
    frame["random_control_score"] = np.random.default_rng(int(promotion_params.get("random_seed", 0))).random(
        len(frame))
    candidates: dict[str, Any] = {"dataset": dataset, "rows": len(rows)}
    for role, candidate in (("challenger", challenger), ("champion", champion)):
        if candidate is None:
            candidates[role] = None
            continue
        scores, flags, latency = promotion.predict(candidate.uri, rows)
        frame[f"{role}_score"], frame[f"{role}_flag"] = scores, flags
        candidates[role] = dataclasses.asdict(candidate) | {"latency_ms": latency}
    return frame, candidates


def judge_candidates(scores: pd.DataFrame, candidates: dict[str, Any], promotion_params: dict[str, Any]
                     ) -> dict[str, Any]:
    """The held-out metrics of both models and the random control, and each rule's verdict."""
    rules = promotion.rules_from(promotion_params)
    labels = scores["label"].to_numpy()
    measured = {role: promotion.candidate_metrics(labels, scores[f"{role}_score"].to_numpy(),
                                                  scores[f"{role}_flag"].to_numpy())
                for role in ("challenger", "champion") if candidates[role] is not None}
    flag_rate = float(scores["challenger_flag"].mean())
    control = promotion.random_control_metrics(labels, scores["random_control_score"].to_numpy(), flag_rate)
    checks = promotion.judge(measured["challenger"], measured.get("champion"), control,
                             candidates["challenger"]["latency_ms"], rules)
    strip = ("latency_ms",)
    return {"dataset": candidates["dataset"], "rows": candidates["rows"], "rules": dataclasses.asdict(rules),
            "challenger": {k: v for k, v in candidates["challenger"].items() if k not in strip},
            "champion": None if candidates["champion"] is None
            else {k: v for k, v in candidates["champion"].items() if k not in strip},
            "latency_ms": {role: candidates[role]["latency_ms"] for role in ("challenger", "champion")
                           if candidates[role] is not None},
            "metrics": measured | {"random_control": control}, "checks": checks,
            "passed": all(check["passed"] for check in checks)}


def promotion_report(decision: dict[str, Any]) -> str:
    """The comparison as Markdown: candidates, metrics side by side, each rule's verdict, the outcome."""
    challenger, champion = decision["challenger"], decision["champion"]
    lines = [f"# Promotion on {decision['dataset']}: {challenger['name']}/{challenger['version']} "
             f"against {'the champion ' + champion['name'] + '/' + champion['version'] if champion else 'no champion'}",
             "", f"Held-out data: the {decision['dataset']} test split, {decision['rows']:,} rows; each model with its "
             "own preprocessing and bundled threshold.", "",
             f"- Challenger: `models:/{challenger['name']}/{challenger['version']}` ({challenger['method']})"]
    if champion:
        lines.append(f"- Champion: `models:/{champion['name']}/{champion['version']}` ({champion['method']}, "
                     f"from {champion['source']})")
    roles = [r for r in ("challenger", "champion", "random_control") if r in decision["metrics"]]
    lines += ["", "| metric | " + " | ".join(r.replace("_", " ") for r in roles) + " |",
              "|---" * (len(roles) + 1) + "|"]
    names = ("roc_auc", "pr_auc", "f1", "precision", "recall", "flagged_fraction_normal", "oracle_f1")
    for name in names:
        cells = [decision["metrics"][r].get(name) for r in roles]
        label = "oracle_f1 (threshold chosen on these labels, context only)" if name == "oracle_f1" else name
        lines.append(f"| {label} | " + " | ".join("" if c is None else f"{c:.4f}" for c in cells) + " |")
    latency = decision["latency_ms"]
    lines.append("| latency (ms per 1,000 rows) | " + " | ".join(
        f"{latency[r]:.1f}" if r in latency else "" for r in roles) + " |")
    lines += ["", "## Rules", ""] + [f"- {'PASS' if c['passed'] else 'FAIL'}: {c['rule']} ({c['detail']})"
                                     for c in decision["checks"]]
    outcome = decision.get("outcome")
    if outcome is not None:
        lines += ["", "## Outcome", "", f"{outcome['status']}."]
        if outcome.get("reasons"):
            lines.append("Refused because: " + "; ".join(outcome["reasons"]) + ".")
        if outcome.get("promoted"):
            lines.append(f"`champion` is now {outcome['champion']}"
                         + (f"; `previous_champion` is {outcome['previous_champion']}."
                            if outcome.get("previous_champion") else "."))
    return "\n".join(lines) + "\n"


def plot_candidates(scores: pd.DataFrame) -> Figure:
    """Precision-recall curves of the challenger, the champion and the random control on the held-out rows."""
    labels = scores["label"].to_numpy()
    figure = Figure(figsize=(6, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for role, style in (("challenger", "-"), ("champion", "-"), ("random_control", ":")):
        if f"{role}_score" not in scores.columns:
            continue
        values = scores[f"{role}_score"].to_numpy(np.float64)
        curve = metrics.pr_curve(labels, values)
        axes.plot(curve["recall"], curve["precision"], style,
                  label=f"{role.replace('_', ' ')} (PR-AUC {metrics.pr_auc(labels, values):.3f})")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_ylim(0, 1.02)
    axes.legend(loc="upper right", fontsize=8)
    axes.set_title("held-out test split")
    return figure


def apply_promotion(decision: dict[str, Any], approve: bool) -> tuple[dict[str, Any], str]:
    """Move the aliases if the rules pass and ``approve`` is true; the decision with its outcome, and the report."""
    outcome = promotion.apply_decision(decision, bool(approve))
    decided = decision | {"outcome": outcome, "approve": bool(approve)}
    return decided, promotion_report(decided)


def roll_back(*, dataset: str) -> dict[str, Any]:
    """``champion`` back to ``previous_champion`` on the dataset's registered model."""
    return promotion.rollback(dataset) | {"dataset": dataset}
