"""Every metric of labelled score frames: per entity, their mean, and the flat names MLflow logs them under.

Multi-entity data gets metrics per entity and their mean over the entities that have anomalies in their test data
(the usual SMD / MSL / NAB protocol, ../shared/docs/targets.md). A metrics table has one row per evaluated entity,
``series`` for a single series, and a ``mean`` row for several; in MLflow's form a single series or the mean
logs ``f1``, ``roc_auc`` ..., each entity ``entity.<e>.f1`` ..., and the count of evaluated entities beside them
(the catalog's metrics datasets add the method's prefix: ``pca.f1``, ``pca.entity.<e>.f1``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tsad.core import metrics, thresholds
from tsad.core.frames import SINGLE, split_entities
from tsad.core.score_frames import flag_scores

logger = logging.getLogger(__name__)

SERIES_ROW = "series"  # the row of a single series
MEAN_ROW = "mean"  # the mean over the evaluated entities
NOT_AVERAGED = ("threshold", "oracle_threshold")  # per-entity values that mean nothing averaged


# --------------------------------------------------------------------------------------------------- options
@dataclasses.dataclass(frozen=True)
class VusOptions:
    """VUS-ROC / VUS-PR (TSB-AD's): label buffers 0..``window``, at ``n_thresholds`` thresholds."""

    window: int
    n_thresholds: int


@dataclasses.dataclass(frozen=True)
class RangeOptions:
    """Range-based precision and recall (Tatbul et al.): existence weight, positional bias, cardinality."""

    alpha: float
    bias: str
    cardinality: str


@dataclasses.dataclass(frozen=True)
class PaKOptions:
    """PA%K curve at K = 0, step, ..., 100."""

    step: float


@dataclasses.dataclass(frozen=True)
class RandomControlOptions:
    """The seed of the random control evaluated beside the model."""

    seed: int


@dataclasses.dataclass(frozen=True)
class ReportOptions:
    """The channel contribution heatmap: events shown, channels shown, points each side of an event."""

    top_events: int
    top_channels: int
    context: int


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
    """The ``evaluation`` parameters; ``conf/base/parameters/defaults.yml`` (``experiment_defaults.evaluation``)
    sets every one of them, and code holds no second default."""

    vus: VusOptions
    range_based: RangeOptions
    pa_k: PaKOptions
    random_control: RandomControlOptions
    report: ReportOptions

    @classmethod
    def from_params(cls, evaluation: Mapping[str, Any]) -> EvaluationOptions:
        """Typed options from the ``evaluation`` parameters (numbers cast to their field's type).

        Raises:
            ValueError: An unknown or a missing parameter, at either level.
        """
        groups = typing.get_type_hints(cls)
        _check_keys(evaluation, groups, "evaluation")
        parsed = {}
        for name, group in groups.items():
            fields = typing.get_type_hints(group)
            values = dict(evaluation[name] or {})
            _check_keys(values, fields, f"evaluation.{name}")
            parsed[name] = group(**{key: fields[key](value) if fields[key] in (int, float) else value
                                    for key, value in values.items()})
        return cls(**parsed)


def _check_keys(given: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    unknown, missing = sorted(set(given) - set(known)), sorted(set(known) - set(given))
    if unknown:
        raise ValueError(f"unknown {where} parameter(s) {unknown}; known: {sorted(known)}")
    if missing:
        raise ValueError(f"{where} parameter(s) {missing} missing; experiment_defaults.evaluation in "
                         "conf/base/parameters/defaults.yml sets them all")


# --------------------------------------------------------------------------------------------------- metrics
def entity_metrics(scores: pd.DataFrame, fitted: thresholds.FittedThreshold | thresholds.ChannelThreshold | None,
                   options: EvaluationOptions) -> dict[str, float]:
    """Every metric of one entity's labelled score frame.

    At the fitted threshold (with its persistence): point-wise, point-adjusted, PA%K, event-wise, composite,
    range-based and affiliation metrics. Threshold-free, on the raw scores: ROC-AUC, PR-AUC, VUS-ROC, VUS-PR. The
    best F1 over all thresholds of the same flag rule is chosen with the test labels and named "oracle".

    Args:
        scores: ``score`` and ``label`` columns (and ``score.<channel>`` columns for per-channel thresholds).
        fitted: The entity's fitted threshold, its per-channel thresholds (flags from the channel scores;
            ``threshold`` is then NaN), or None when there is none (threshold metrics are then left out).
        options: The evaluation options.
    """
    labels, values = scores["label"].to_numpy() > 0, scores["score"].to_numpy(dtype=np.float64)
    ks = np.append(np.arange(0.0, 100.0, options.pa_k.step), 100.0)
    out: dict[str, float] = {}
    persistence = 1
    if fitted is not None:
        persistence = thresholds.persistence_of(fitted.options)
        flags = flag_scores(scores, fitted).flags
        ranges = options.range_based
        out |= metrics.flag_metrics(labels, flags, range_alpha=ranges.alpha, range_bias=ranges.bias,
                                    range_cardinality=ranges.cardinality, pa_k=ks)
        out["threshold"] = fitted.value
    vus_roc, vus_pr = metrics.vus(labels, values, options.vus.window, options.vus.n_thresholds)
    out |= {"roc_auc": metrics.roc_auc(labels, values), "pr_auc": metrics.pr_auc(labels, values),
            "vus_roc": vus_roc, "vus_pr": vus_pr}
    decision = thresholds.persistent_scores(values, persistence)
    oracle = metrics.best_f1(labels, decision)
    oracle["threshold"] = max(oracle["threshold"], -np.finfo(np.float64).max)  # -inf: every point flagged
    out |= {f"oracle_{k}": v for k, v in oracle.items()}
    out["oracle_pa_f1"] = metrics.best_f1(labels, metrics.point_adjusted_scores(labels, decision))["f1"]
    return {k: float(v) for k, v in out.items()}


def metrics_table(scores: pd.DataFrame, record: dict[str, Any], options: EvaluationOptions) -> pd.DataFrame:
    """Metrics per evaluated entity (rows) of a labelled score frame, with a ``mean`` row for multi-entity data.

    A single series has one row, ``series``. Entities without anomalies in their test data are not evaluated
    (one log line names them). Unlabelled data gives an empty table.

    Args:
        scores: The test score frame.
        record: The threshold record (``tsad.core.score_frames.fit_threshold``); an entity without a threshold
            gets only the threshold-free metrics and the oracle.
        options: The evaluation options.
    """
    if "label" not in scores.columns:
        logger.info("The test data has no labels: label-based metrics are skipped")
        return pd.DataFrame()
    parts = split_entities(scores)
    rows = {(SERIES_ROW if e == SINGLE else e): entity_metrics(part, thresholds.entity_threshold(record, e), options)
            for e, part in parts.items() if part["label"].any() or e == SINGLE}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "entity"
    if list(parts) == [SINGLE]:
        return table
    skipped = sorted(set(parts) - set(rows))
    if skipped:
        logger.info("%d entities have no anomaly in their test data and are not evaluated: %s", len(skipped), skipped)
    return with_mean_row(table)


def with_mean_row(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``mean`` row: each column's mean over the entities (NaN skipped), but ``NOT_AVERAGED``."""
    table = table.copy()
    averaged = [c for c in table.columns if c not in NOT_AVERAGED]
    table.loc[MEAN_ROW, averaged] = table[averaged].mean(axis=0, skipna=True)
    return table


def mlflow_metrics(table: pd.DataFrame, count_name: str = "entities_evaluated") -> dict[str, dict[str, float]]:
    """A metrics table in MLflow's form, ``{name: {"value", "step"}}``.

    Plain names for the single series or the mean, ``entity.<e>.<metric>`` per entity and ``count_name`` (the
    number of evaluated entities) for multi-entity tables. Non-finite values (an undefined precision, a missing
    threshold) are left out, as MLflow cannot plot them.
    """
    if table.empty:
        return {}
    values: dict[str, float] = {}
    if list(table.index) == [SERIES_ROW]:
        values = table.loc[SERIES_ROW].to_dict()
    else:
        for entity, row in table.drop(index=MEAN_ROW).iterrows():
            values |= {f"entity.{entity}.{k}": v for k, v in row.items()}
        values |= {k: v for k, v in table.loc[MEAN_ROW].items() if k not in NOT_AVERAGED}
        values[count_name] = float(len(table) - 1)
    return {name: {"value": float(v), "step": 0} for name, v in values.items() if math.isfinite(v)}
