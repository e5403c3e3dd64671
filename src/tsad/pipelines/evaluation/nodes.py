"""Evaluation nodes: a threshold from validation scores, every metric on the test labels, and the random control
beside the model.

Thresholds are fitted and applied per entity (``tsad.core.score_frames``), the metrics tables and their MLflow form
are ``tsad.core.evaluation``'s, and the random control is the ``random`` detector (``RandomDetector.score_like``):
it scores every timestamp of the same splits with seeded U(0, 1) draws, fits the same threshold strategy on its
validation scores and is evaluated with the same code, so that each run shows what chance reaches on every metric
(point adjustment gives chance a high F1, ../shared/docs/peers.md §4). The reports are the reporting stage's.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tsad.core import score_frames, thresholds
from tsad.core.evaluation import EvaluationOptions, metrics_table, mlflow_metrics
from tsad.core.frames import split_entities
from tsad.models.random_control import RandomDetector

logger = logging.getLogger(__name__)


def fit_threshold(scores_val: pd.DataFrame, threshold: dict[str, Any]) -> dict[str, Any]:
    """The threshold record of the validation scores (held-out normal data, no labels), one fit per entity.

    Args:
        scores_val: The validation score frame.
        threshold: The threshold parameters (see ``tsad.core.score_frames.fit_threshold``).
    """
    return score_frames.fit_threshold(scores_val, threshold)


def fit_control_threshold(control_val: pd.DataFrame, threshold: dict[str, Any]) -> dict[str, Any]:
    """``fit_threshold`` for the random control; a strategy that finds no threshold there leaves it unset.

    A control the strategy cannot threshold (DistriTailNoise2Th on a flat histogram, say) must not stop the model's
    run: its entities get no value, a warning says why, and only its threshold-free metrics are reported.
    """
    try:
        return score_frames.fit_threshold(control_val, threshold)
    except thresholds.ThresholdError as error:
        logger.warning("The random control gets no threshold (%s); its threshold metrics are not reported", error)
        return {**threshold, "values": dict.fromkeys(split_entities(control_val))}


def evaluate(scores_test: pd.DataFrame, threshold: dict[str, Any], evaluation: dict[str, Any]
             ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics of the test scores in MLflow's form (``{name: {"value", "step"}}``), and as a table.

    MLflow gets ``f1``, ``roc_auc`` ... for a single series; for multi-entity data the mean over evaluated entities
    under the same names, ``entity.<name>.<metric>`` per entity and ``entities_evaluated``. The table has one row
    per evaluated entity (``series`` for a single series) and a ``mean`` row.
    """
    table = metrics_table(scores_test, threshold, EvaluationOptions.from_params(evaluation))
    return mlflow_metrics(table), table


def score_random_control(scores_val: pd.DataFrame, scores_test: pd.DataFrame, evaluation: dict[str, Any]
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The random control's score frames on the timestamps of the validation and test splits (labels kept), from
    the ``random`` detector seeded by ``evaluation.random_control.seed``."""
    seed = EvaluationOptions.from_params(evaluation).random_control.seed
    control = RandomDetector.from_params({"seed": seed})
    return control.score_like(scores_val, split=0), control.score_like(scores_test, split=1)
