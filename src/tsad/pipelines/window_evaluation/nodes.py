"""Window-level metrics, as TAnoGAN's notebook evaluates (../shared/docs/methods.md §4.4-4.5 and §8.1).

The evaluation stage works per timestamp. TAnoGAN's paper evaluates per window instead: non-overlapping test
windows (stride = window = 60), a window is anomalous when any of its points is (``WindowedSeries.window_labels``),
a window is flagged when its score reaches the threshold, and point adjustment acts on runs of consecutive
anomalous *windows*: if any window of a run is flagged, the whole run counts as detected.

A model's window score is the detector's own score of that window (``window_scores_test`` from the scoring
stage), exact whatever the stride; its flag is whether any of its rows is flagged by the fitted threshold (the
threshold is fitted on per-timestamp validation scores, and flags carry the evidence channels and persistence).
The random control scores timestamps, not windows: its window score is the highest score among the window's
rows.

The metrics (``window_`` names, per entity and their mean over entities with an anomalous test window):
``roc_auc``, ``pr_auc`` (window scores); at the fitted threshold ``precision``, ``recall``, ``f1`` and, after the
window-level point adjustment, ``pa_precision``, ``pa_recall``, ``pa_f1``, ``pa_accuracy``, ``pa_kappa`` (the
notebook prints accuracy and Cohen's kappa after adjustment); and the oracles, with the threshold chosen on the
test labels, ``oracle_f1`` and ``oracle_pa_f1`` (the notebook's threshold is set by hand per series).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from tsad.core import metrics
from tsad.core.evaluation import SERIES_ROW, mlflow_metrics, with_mean_row
from tsad.core.frames import SINGLE, split_entities
from tsad.core.score_frames import entity_flagging
from tsad.core.windows import WindowedSeries

logger = logging.getLogger(__name__)


def window_scores_and_flags(series: WindowedSeries, scores: np.ndarray, flags: np.ndarray | None
                            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-window maxima of per-timestamp scores, and whether any row of each window is flagged.

    Args:
        series: The split's windows (their geometry).
        scores: Per-timestamp scores, shape (T,).
        flags: Per-timestamp flags (T,), or None.

    Returns:
        Window scores (N,) and window flags (N,) (None when ``flags`` is None).
    """
    return _per_window(series.window_starts, series.window, scores, flags)


def _per_window(starts: np.ndarray, window: int | np.ndarray, scores: np.ndarray, flags: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    # reduceat over [start, start + W) per window; ends are exclusive and never past T.
    bounds = np.stack([starts, starts + window], axis=1).ravel()
    padded = np.append(np.asarray(scores, dtype=np.float64), -np.inf)
    window_scores = np.maximum.reduceat(padded, bounds)[::2]
    if flags is None:
        return window_scores, None
    counts = np.add.reduceat(np.append(np.asarray(flags, dtype=np.int64), 0), bounds)[::2]
    return window_scores, counts > 0


def cohen_kappa(labels: np.ndarray, flags: np.ndarray) -> float:
    """Cohen's kappa between binary labels and flags (0 when the expected agreement is 1)."""
    labels, flags = np.asarray(labels, bool), np.asarray(flags, bool)
    observed = float(np.mean(labels == flags))
    p_label, p_flag = float(labels.mean()), float(flags.mean())
    expected = p_label * p_flag + (1 - p_label) * (1 - p_flag)
    return 0.0 if expected >= 1.0 else (observed - expected) / (1.0 - expected)


def window_metrics(labels: np.ndarray, scores: np.ndarray, flags: np.ndarray | None) -> dict[str, float]:
    """Window-level metrics of one entity (see the module docstring); threshold metrics need ``flags``."""
    labels = np.asarray(labels) > 0
    out = {"window_roc_auc": metrics.roc_auc(labels, scores), "window_pr_auc": metrics.pr_auc(labels, scores)}
    if flags is not None:
        precision, recall, f1 = metrics.precision_recall_f1(labels, flags)
        adjusted = metrics.point_adjust(labels, flags)
        pa_precision, pa_recall, pa_f1 = metrics.precision_recall_f1(labels, adjusted)
        out |= {"window_precision": precision, "window_recall": recall, "window_f1": f1,
                "window_pa_precision": pa_precision, "window_pa_recall": pa_recall, "window_pa_f1": pa_f1,
                "window_pa_accuracy": float(np.mean(adjusted == labels)),
                "window_pa_kappa": cohen_kappa(labels, adjusted),
                "window_flagged_fraction": float(np.mean(flags))}
    out["window_oracle_f1"] = metrics.best_f1(labels, scores)["f1"]
    out["window_oracle_pa_f1"] = metrics.best_f1(labels, metrics.point_adjusted_scores(labels, scores))["f1"]
    out["window_count"] = float(len(labels))
    out["window_anomalous_count"] = float(labels.sum())
    return {k: float(v) for k, v in out.items()}


def scored_windows_of(series: WindowedSeries, window_scores: pd.DataFrame, entity: str
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows the detector scored in one entity (``window_scores_test``'s part): their first rows (positions),
    lengths and labels (any anomalous row).

    Raises:
        ValueError: A window that does not start on a test row or does not fit in the test rows.
    """
    starts = series.index.get_indexer(window_scores.index)
    lengths = window_scores["window"].to_numpy(dtype=np.int64)
    if (starts < 0).any() or (starts + lengths > series.n_timestamps).any():
        raise ValueError(f"window_scores_test of entity {entity!r} has windows outside its "
                         f"{series.n_timestamps} test rows")
    ones = np.concatenate(([0], np.cumsum(series.labels > 0, dtype=np.int64)))
    return starts, lengths, (ones[starts + lengths] - ones[starts] > 0).astype(np.int8)


def evaluate_windows(windows_test: dict[str, WindowedSeries], scores_test: pd.DataFrame,
                     threshold: dict[str, Any], window_scores_test: pd.DataFrame | None = None
                     ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Window-level metrics per entity and their mean, in MLflow's form and as a table.

    Args:
        windows_test: The test windows per entity (their geometry and point labels).
        scores_test: Per-timestamp test scores (``score``), on the same rows.
        threshold: The fitted threshold record (``tsad.core.score_frames.fit_threshold``); an entity without a
            value gets only the threshold-free and oracle metrics.
        window_scores_test: The detector's own score of each window it scored (``score_split``); None: each
            window of ``windows_test`` scores the highest per-timestamp score of its rows (the random control).

    Returns:
        ``{name: {"value", "step"}}`` (plain names for one series or the mean, ``entity.<e>.<name>`` per entity,
        ``window_entities_evaluated``) and the table (one row per evaluated entity, ``mean`` for several).
    """
    parts = split_entities(scores_test)
    own = None if window_scores_test is None else split_entities(window_scores_test)
    rows = {}
    for entity, series in windows_test.items():
        if series.labels is None:
            logger.info("The test data has no labels: window-level metrics are skipped")
            return {}, pd.DataFrame()
        if entity not in parts or len(parts[entity]) != series.n_timestamps:
            raise ValueError(f"scores_test has no scores for the {series.n_timestamps} test rows of entity {entity!r}")
        if own is None:
            starts, lengths, labels = series.window_starts, series.window, series.window_labels
        else:  # the windows the detector scored (scoring.stride may thin the split's)
            if entity not in own:
                raise ValueError(f"window_scores_test has no windows of entity {entity!r}")
            starts, lengths, labels = scored_windows_of(series, own[entity], entity)
        if not labels.any() and entity != SINGLE:
            continue
        values = parts[entity]["score"].to_numpy(dtype=np.float64)
        flagging = entity_flagging(parts[entity], threshold, entity)  # as the evaluation flags, channels included
        flags = None if flagging is None else flagging.flags
        window_scores, window_flags = _per_window(starts, lengths, values, flags)
        if own is not None:
            window_scores = own[entity]["score"].to_numpy(dtype=np.float64)
        rows[SERIES_ROW if entity == SINGLE else entity] = window_metrics(labels, window_scores, window_flags)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "entity"
    if table.empty:
        return {}, table
    if list(table.index) != [SERIES_ROW]:
        table = with_mean_row(table)
    return mlflow_metrics(table, count_name="window_entities_evaluated"), table


def evaluate_window_metrics(windows_test: dict[str, WindowedSeries], scores_test: pd.DataFrame,
                            threshold: dict[str, Any], window_scores_test: pd.DataFrame) -> dict[str, Any]:
    """The MLflow-form metrics of ``evaluate_windows`` on the detector's own window scores (the model's node)."""
    return evaluate_windows(windows_test, scores_test, threshold, window_scores_test)[0]


def evaluate_control_window_metrics(windows_test: dict[str, WindowedSeries], scores_test: pd.DataFrame,
                                    threshold: dict[str, Any]) -> dict[str, Any]:
    """The MLflow-form metrics of ``evaluate_windows`` on per-window maxima (the random control's node)."""
    return evaluate_windows(windows_test, scores_test, threshold)[0]
