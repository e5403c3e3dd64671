"""Evaluation nodes: thresholds from validation scores, every metric on test labels, a random control beside the
model, and the reports (metrics table, markdown report, score timeline, PR curve, channel contribution heatmap).

Multi-entity data gets a threshold and metrics per entity, and the mean over the entities that have anomalies in
their test data (the usual SMD / MSL / NAB protocol, ../shared/docs/targets.md).

The random control scores every timestamp of the same splits with seeded U(0, 1) draws, fits the same threshold
strategy on its validation scores and is evaluated with the same code, so that each run shows what chance reaches
on every metric (point adjustment gives chance a high F1, ../shared/docs/peers.md §4).

Per-channel thresholds (``threshold.per_channel: {combine: any | k_of_f, k}``, for detectors that score each channel:
the scores frames then carry ``score.<channel>`` columns, see ``tsad.pipelines.scoring``): the strategy is fitted on
each channel's validation scores, each channel flags with its own threshold and the flags are combined
(``tsad.core.thresholds.fit_channels``). The combined flags feed every threshold metric; the window score (the sum
of the channel scores) feeds the threshold-free ones and the oracle. The random control then draws U(0, 1) scores
for every channel too and goes through the same per-channel rule.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tsad.core import metrics, thresholds
from tsad.core.frames import SINGLE, join_entities, split_entities
from tsad.core.metrics import segments
from tsad.core.windows import WindowedSeries
from tsad.pipelines.scoring.nodes import channel_columns, channel_scores

logger = logging.getLogger(__name__)

_PLOT_POINTS = 4000  # the timeline is max-pooled to this many bins so that long series stay readable
_CURVE_POINTS = 2000  # PR curves are thinned to this many points
_NOT_AVERAGED = ("threshold", "oracle_threshold")
_MEAN_ROW = "mean"
_SERIES_ROW = "series"

DEFAULTS: dict[str, Any] = {
    "vus": {"window": 100, "n_thresholds": 250},
    "range_based": {"alpha": 0.0, "bias": "flat", "cardinality": "one"},
    "pa_k": {"step": 1},
    "random_control": {"seed": 0},
    "report": {"top_events": 5, "top_channels": 15, "context": 60},
}

# The metrics of the report, in order, with what they mean.
METRIC_GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("point-wise", ("precision", "recall", "f1"), "every timestamp counts once"),
    ("point-adjusted", ("pa_precision", "pa_recall", "pa_f1", "pa_k_auc"),
     "a segment with a flag counts as found (PA); PA%K needs more than K % of it (area over K)"),
    ("event-wise", ("event_precision", "event_recall", "event_f1", "composite_f1"),
     "segments found / flagged runs that are real; composite = point precision with event recall"),
    ("range-based", ("range_precision", "range_recall", "range_f1"), "Tatbul et al.: existence and overlap"),
    ("affiliation", ("affiliation_precision", "affiliation_recall", "affiliation_f1"),
     "Huet et al.: how close flags and events are, against chance"),
    ("threshold-free", ("roc_auc", "pr_auc", "vus_roc", "vus_pr"), "no threshold involved"),
    ("oracle (test labels pick the threshold)", ("oracle_f1", "oracle_pa_f1"), "never deployable"),
    ("flags", ("flagged_fraction", "threshold"), "share of test points flagged; the fitted threshold"),
)


def evaluation_options(evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """The evaluation parameters with the defaults filled in (one level deep)."""
    evaluation = dict(evaluation or {})
    unknown = sorted(set(evaluation) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown evaluation parameter(s) {unknown}; known: {sorted(DEFAULTS)}")
    return {key: {**default, **dict(evaluation.get(key) or {})} for key, default in DEFAULTS.items()}


# --------------------------------------------------------------------------------------------------- thresholds
def fit_threshold(scores_val: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """Fit the configured threshold strategy on validation scores (normal data, no labels used), per entity.

    Args:
        scores_val: Per-timestamp validation scores.
        options: ``strategy`` (see ``tsad.core.thresholds.STRATEGIES``), its options and ``persistence``; and
            ``per_channel`` (null: one threshold on ``score``; ``{combine: any | k_of_f, k}``: one per channel score
            column, flags combined by the rule).

    Returns:
        ``{"strategy", ...options, "values": {entity: threshold}}`` (entity ``""`` for a single series), plus
        ``"state"`` for SPOT; per channel, ``"per_channel"`` and ``{channel: threshold}`` per entity.
        ``tsad.core.thresholds.from_record`` reads it back.
    """
    options = dict(options)
    strategy = options.pop("strategy", "quantile")
    per_channel = options.pop("per_channel", None)
    if per_channel:
        rule = dict(per_channel) if isinstance(per_channel, dict) else {}
        unknown = sorted(set(rule) - {"combine", "k"})
        if unknown:
            raise ValueError(f"threshold.per_channel has unknown key(s) {unknown}; use combine (any | k_of_f) and k")
        fitted_channels = {}
        for entity, part in split_entities(scores_val).items():
            values, names = channel_scores(part)
            fitted_channels[entity] = thresholds.fit_channels(values, strategy, channels=names, **rule, **options)
        return thresholds.to_record(fitted_channels)
    fitted = {entity: thresholds.fit(part["score"].to_numpy(), strategy, **options)
              for entity, part in split_entities(scores_val).items()}
    return thresholds.to_record(fitted)


def fit_control_threshold(control_val: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
    """``fit_threshold`` for the random control; a strategy that finds no threshold there leaves it unset.

    A control the strategy cannot threshold (DistriTailNoise2Th on a flat histogram, say) must not stop the model's
    run: its entities get no value, a warning says why, and only its threshold-free metrics are reported.
    """
    try:
        return fit_threshold(control_val, options)
    except thresholds.ThresholdError as error:
        logger.warning("The random control gets no threshold (%s); its threshold metrics are not reported", error)
        options = dict(options)
        strategy = options.pop("strategy", "quantile")
        return {"strategy": strategy, **options, "values": dict.fromkeys(split_entities(control_val))}


def _fitted(threshold: dict[str, Any], entity: str) -> thresholds.FittedThreshold | thresholds.ChannelThreshold | None:
    if threshold["values"].get(entity) is None:
        return None
    return thresholds.from_record(threshold, entity)


def flag_scores(scores: pd.DataFrame, fitted: thresholds.FittedThreshold | thresholds.ChannelThreshold
                ) -> thresholds.Flagging:
    """Flags of one entity's scores frame: ``score`` against one threshold, or the channel score columns against
    per-channel thresholds (combined by their rule). Evaluation, window evaluation and the registered model all
    flag through this function, so they flag alike."""
    if isinstance(fitted, thresholds.ChannelThreshold):
        return thresholds.apply_channels(channel_scores(scores, fitted.channels)[0], fitted)
    return thresholds.apply(scores["score"].to_numpy(dtype=np.float64), fitted)


# --------------------------------------------------------------------------------------------------- random control
def score_random_control(scores_val: pd.DataFrame, scores_test: pd.DataFrame, evaluation: dict[str, Any] | None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded U(0, 1) scores on the timestamps of the validation and test splits (labels kept).

    Each entity and split draws from its own generator, seeded by ``(seed, split, entity position)``, so the control
    is the same whatever else the run does. When the model's scores have per-channel columns, the control gets U(0, 1)
    per-channel columns too (from a generator of their own, so that ``score`` is drawn as without them).
    """
    seed = int(evaluation_options(evaluation)["random_control"]["seed"])

    def draw(frame: pd.DataFrame, split: int) -> pd.DataFrame:
        parts = {}
        columns = channel_columns(frame)
        for position, (entity, part) in enumerate(split_entities(frame).items()):
            control = pd.DataFrame({"score": np.random.default_rng([seed, split, position]).random(len(part))},
                                   index=part.index)
            if columns:
                uniform = np.random.default_rng([seed, split, position, 1]).random((len(part), len(columns)))
                control = pd.concat([control, pd.DataFrame(uniform, index=part.index, columns=columns)], axis=1)
            if "label" in part.columns:
                control["label"] = part["label"].to_numpy()
            parts[entity] = control
        return join_entities(parts)

    return draw(scores_val, 0), draw(scores_test, 1)


# --------------------------------------------------------------------------------------------------- metrics
def entity_metrics(scores: pd.DataFrame,
                   fitted: thresholds.FittedThreshold | thresholds.ChannelThreshold | float | None,
                   evaluation: dict[str, Any] | None = None) -> dict[str, float]:
    """Every metric of one entity's labelled scores.

    At the fitted threshold (with its persistence): point-wise, point-adjusted, PA%K, event-wise, composite,
    range-based and affiliation metrics. Threshold-free, on the raw scores: ROC-AUC, PR-AUC, VUS-ROC, VUS-PR. The
    best F1 over all thresholds of the same flag rule is chosen with the test labels and named "oracle".

    Args:
        scores: ``score`` and ``label`` columns (and ``score.<channel>`` columns for per-channel thresholds).
        fitted: The entity's fitted threshold (a bare number means a quantile-style ``scores >= value``), its
            per-channel thresholds (flags from the channel scores; ``threshold`` is then NaN), or None when there is
            none (threshold metrics are then NaN).
        evaluation: Evaluation parameters (``evaluation_options``).
    """
    options = evaluation_options(evaluation)
    labels, values = scores["label"].to_numpy() > 0, scores["score"].to_numpy(dtype=np.float64)
    if isinstance(fitted, int | float):
        fitted = thresholds.FittedThreshold("quantile", float(fitted), {})
    step = float(options["pa_k"]["step"])
    ks = np.append(np.arange(0.0, 100.0, step), 100.0)
    out: dict[str, float] = {}
    persistence = 1
    if fitted is not None:
        persistence = int(fitted.options.get("persistence", 1))
        flags = flag_scores(scores, fitted).flags
        rb = options["range_based"]
        out |= metrics.flag_metrics(labels, flags, range_alpha=float(rb["alpha"]), range_bias=rb["bias"],
                                    range_cardinality=rb["cardinality"], pa_k=ks)
        out["threshold"] = fitted.value
    vus_roc, vus_pr = metrics.vus(labels, values, int(options["vus"]["window"]), int(options["vus"]["n_thresholds"]))
    out |= {"roc_auc": metrics.roc_auc(labels, values), "pr_auc": metrics.pr_auc(labels, values),
            "vus_roc": vus_roc, "vus_pr": vus_pr}
    decision = thresholds.persistent_scores(values, persistence)
    oracle = metrics.best_f1(labels, decision)
    oracle["threshold"] = max(oracle["threshold"], -np.finfo(np.float64).max)  # -inf: every point flagged
    out |= {f"oracle_{k}": v for k, v in oracle.items()}
    out["oracle_pa_f1"] = metrics.best_f1(labels, metrics.point_adjusted_scores(labels, decision))["f1"]
    return {k: float(v) for k, v in out.items()}


def metrics_table(scores_test: pd.DataFrame, threshold: dict[str, Any], evaluation: dict[str, Any] | None = None
                  ) -> pd.DataFrame:
    """Metrics per evaluated entity (rows), with a ``mean`` row for multi-entity data.

    A single series has one row, ``series``. Entities without anomalies in their test data are not evaluated
    (one log line names them). Unlabelled data gives an empty table.
    """
    if "label" not in scores_test.columns:
        logger.info("The test data has no labels: label-based metrics are skipped")
        return pd.DataFrame()
    parts = split_entities(scores_test)
    rows = {(_SERIES_ROW if e == SINGLE else e): entity_metrics(part, _fitted(threshold, e), evaluation)
            for e, part in parts.items() if part["label"].any() or e == SINGLE}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "entity"
    if list(parts) != [SINGLE]:
        skipped = sorted(set(parts) - set(rows))
        if skipped:
            logger.info("%d entities have no anomaly in their test data and are not evaluated: %s",
                        len(skipped), skipped)
        averaged = [c for c in table.columns if c not in _NOT_AVERAGED]
        table.loc[_MEAN_ROW, averaged] = table[averaged].mean(axis=0, skipna=True)
    return table


def _mlflow_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """A metrics table in MLflow's form: plain names for the single series or the mean, ``entity.<e>.<m>`` else.

    Non-finite values (an undefined precision, a missing threshold) are left out, as MLflow cannot plot them.
    """
    if table.empty:
        return {}
    values: dict[str, float] = {}
    if list(table.index) == [_SERIES_ROW]:
        values = table.loc[_SERIES_ROW].to_dict()
    else:
        for entity, row in table.drop(index=_MEAN_ROW).iterrows():
            values |= {f"entity.{entity}.{k}": v for k, v in row.items()}
        values |= {k: v for k, v in table.loc[_MEAN_ROW].items() if k not in _NOT_AVERAGED}
        values["entities_evaluated"] = float(len(table) - 1)
    return {name: {"value": float(v), "step": 0} for name, v in values.items() if math.isfinite(v)}


def evaluate(scores_test: pd.DataFrame, threshold: dict[str, Any], evaluation: dict[str, Any] | None = None
             ) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics of the test scores in MLflow's form (``{name: {"value", "step"}}``), and as a table.

    MLflow gets ``f1``, ``roc_auc`` ... for a single series; for multi-entity data the mean over evaluated entities
    under the same names, ``entity.<name>.<metric>`` per entity and ``entities_evaluated``. The table has one row
    per evaluated entity (``series`` for a single series) and a ``mean`` row.
    """
    table = metrics_table(scores_test, threshold, evaluation)
    return _mlflow_metrics(table), table


def evaluate_scores(scores_test: pd.DataFrame, threshold: dict[str, Any], evaluation: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """The MLflow-form metrics of ``evaluate``."""
    return evaluate(scores_test, threshold, evaluation)[0]


# --------------------------------------------------------------------------------------------------- report
def write_report(table: pd.DataFrame, control_table: pd.DataFrame, threshold: dict[str, Any],
                 model: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """The metrics table of model and random control (one CSV) and a short markdown report.

    Returns:
        A frame indexed by (``scorer``: ``model`` | ``random_control``, ``entity``) with one column per metric,
        and the report's markdown text.
    """
    method = str(model.get("method", "model"))
    combined = pd.concat({"model": table, "random_control": control_table}, names=["scorer"]) \
        if not table.empty else pd.DataFrame()
    lines = [f"# Evaluation report: `{method}`", ""]
    options = {k: v for k, v in threshold.items() if k not in ("strategy", "values", "state")}
    values = [v for v in threshold["values"].values() if v is not None]
    per_channel = threshold.get("per_channel")
    if per_channel:  # {channel: value} per entity
        values = [v for channels in values for v in channels.values()]
    count = len(threshold["values"])
    lines += ["## Threshold", "",
              f"- strategy `{threshold['strategy']}`, options `{options}`, fitted on validation scores only "
              "(held-out normal training data; no labels)."
              + (" One threshold per channel score; a point is flagged when "
                 + ("any channel flags it." if per_channel.get("combine", "any") == "any"
                    else f"at least {per_channel.get('k')} channels flag it.") if per_channel else ""),
              f"- {count} entit{'y' if count == 1 else 'ies'}; "
              + ("no threshold was found" if not values else
                 f"threshold{'s' if per_channel else ''} "
                 + (f"{values[0]:.6g}" if len(values) == 1 else f"from {min(values):.6g} to {max(values):.6g}")), ""]
    if table.empty:
        lines += ["The test data has no labels: no metric is computed.", ""]
        return combined, "\n".join(lines)
    row = _SERIES_ROW if _SERIES_ROW in table.index else _MEAN_ROW
    scope = "the series" if row == _SERIES_ROW else f"the mean over {len(table) - 1} entities with anomalies"
    lines += [f"## Metrics ({scope})", "",
              "The random control scores every test point with seeded U(0, 1) draws and uses the same threshold "
              "strategy, fitted on its own validation scores: a metric is only informative where the model is "
              "clearly above it.", "",
              "| family | metric | model | random control | what it rewards |", "|---|---|---|---|---|"]
    below = []
    for family, names, meaning in METRIC_GROUPS:
        for position, name in enumerate(n for n in names if n in table.columns):
            ours = table.at[row, name]
            chance = control_table.at[row, name] if name in control_table.columns else float("nan")
            label, note = (family, meaning) if position == 0 else ("", "")
            lines.append(f"| {label} | `{name}` | {_fmt(ours)} | {_fmt(chance)} | {note} |")
            if name not in ("threshold", "flagged_fraction") and math.isfinite(ours) and math.isfinite(chance) \
                    and ours <= chance:
                below.append(name)
    lines += ["", "## Reading", ""]
    if below:
        lines.append(f"- At or below the random control: {', '.join(f'`{n}`' for n in below)}. These numbers say "
                     "nothing about this model.")
    else:
        lines.append("- The model is above the random control on every metric.")
    pa = table.at[row, "pa_f1"] if "pa_f1" in table.columns else math.nan
    pa_chance = control_table.at[row, "pa_f1"] if "pa_f1" in control_table.columns else math.nan
    if math.isfinite(pa) and math.isfinite(pa_chance):
        lines.append(f"- Point adjustment gives chance a PA-F1 of {pa_chance:.3f} here (model {pa:.3f}): read "
                     "`pa_*` only beside the control.")
    lines += ["- `oracle_*` metrics choose the threshold with the test labels: they bound what a threshold could "
              "reach and are never deployable numbers.",
              "- Artifacts: `metrics_table.csv` (model and control, per entity), `score_timeline.png`, "
              "`pr_curve.png`, `channel_contributions.png`.", ""]
    return combined, "\n".join(lines)


def _fmt(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


# --------------------------------------------------------------------------------------------------- plots
def _flagging(part: pd.DataFrame, threshold: dict[str, Any], entity: str) -> thresholds.Flagging | None:
    fitted = _fitted(threshold, entity)
    return None if fitted is None else flag_scores(part, fitted)


def plot_score_timeline(scores_test: pd.DataFrame, threshold: dict[str, Any]) -> Figure:
    """Test scores over time with labelled anomalies shaded, the threshold drawn and the flags marked.

    The curve is the decision score (the score, or its EWMA for the dynamic strategy; with per-channel thresholds,
    the k-th largest channel score over its channel's threshold, k = 1 for ``any``). Multi-entity data is drawn
    entity after entity, each decision score divided by its entity's threshold (so the threshold is the line at
    1; a difference with the line at 0 where a threshold is not positive), with the entity boundaries marked.
    """
    parts = split_entities(scores_test)
    single = list(parts) == [SINGLE]
    runs = {e: _flagging(p, threshold, e) for e, p in parts.items()}
    positive = all(r is not None and np.all(r.threshold > 0) for r in runs.values())
    curves, traces, flags = [], [], []
    for entity, part in parts.items():
        run = runs[entity]
        decision = part["score"].to_numpy(dtype=np.float64) if run is None else run.decision
        trace = np.full(len(part), np.nan) if run is None else run.threshold
        if not single:
            decision = decision / trace if positive else decision - trace
            trace = np.full(len(part), 1.0 if positive else 0.0)
        curves.append(decision)
        traces.append(trace)
        flags.append(np.zeros(len(part), bool) if run is None else run.flags)
    scores, trace, flagged = np.concatenate(curves), np.concatenate(traces), np.concatenate(flags)
    labels = np.concatenate([p["label"].to_numpy() if "label" in p.columns else np.zeros(len(p), np.int8)
                             for p in parts.values()])
    bins = max(1, -(-len(scores) // _PLOT_POINTS))
    pad = -len(scores) % bins
    peak = np.pad(scores, (0, pad), mode="edge").reshape(-1, bins).max(1)
    line = np.pad(trace, (0, pad), mode="edge").reshape(-1, bins).mean(1)
    figure = Figure(figsize=(12, 3.6), layout="constrained")
    axes = figure.add_subplot()
    for start, end in zip(*segments(labels)):
        axes.axvspan(start, end, color="#f4a3a3", alpha=0.5, linewidth=0)
    if not single:
        for boundary in np.cumsum([len(p) for p in parts.values()])[:-1]:
            axes.axvline(boundary, color="#999999", linewidth=0.5)
    x = np.arange(len(peak)) * bins
    axes.plot(x, peak, color="#1f3f6e", linewidth=0.7, label="decision score (max per bin)")
    axes.plot(x, line, color="#c0392b", linestyle="--", linewidth=1, label=f"threshold ({threshold['strategy']})")
    finite_line = line[np.isfinite(line)]
    level = float(np.max(np.abs(finite_line))) if len(finite_line) else 0.0
    top = max(3 * level, float(peak.max()))
    low = min(0.0, float(peak.min()))
    if flagged.any():
        axes.plot(np.flatnonzero(flagged), np.full(int(flagged.sum()), low), "|", color="#c0392b", markersize=6,
                  label="flagged")
    if level > 0 and top > 20 * level:
        # Peaks far above the threshold would flatten everything else: linear up to the threshold, log beyond.
        axes.set_yscale("symlog", linthresh=level)
        axes.set_ylim(low, top * 1.5)
    else:
        axes.set_ylim(low - 0.02 * (top - low), top * 1.05 if top > 0 else 1.0)
    first, last = scores_test.index[0], scores_test.index[-1]
    axes.set_xlabel(f"test row (from {first} to {last})" if single else f"test row, {len(parts)} entities in turn")
    if threshold.get("per_channel"):
        axes.set_ylabel("k-th channel score / its threshold" if positive else "k-th channel score - its threshold")
    else:
        axes.set_ylabel("anomaly score" if single else ("score / entity threshold" if positive
                                                        else "score - entity threshold"))
    axes.legend(loc="upper right", fontsize=8)
    return figure


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.unique(np.linspace(0, len(x) - 1, min(len(x), _CURVE_POINTS)).astype(int))
    return x[keep], y[keep]


def plot_pr_curve(scores_test: pd.DataFrame, control_test: pd.DataFrame, threshold: dict[str, Any]) -> Figure:
    """Precision-recall curves of the model and of the random control, with the model's operating point.

    One curve per evaluated entity (thin for multi-entity data); the operating point is the fitted threshold's
    precision and recall, the star the oracle (best F1, chosen with the test labels).
    """
    figure = Figure(figsize=(6, 5), layout="constrained")
    axes = figure.add_subplot()
    if "label" not in scores_test.columns:
        axes.text(0.5, 0.5, "unlabelled test data", ha="center")
        return figure
    model_parts, control_parts = split_entities(scores_test), split_entities(control_test)
    evaluated = [e for e, p in model_parts.items() if p["label"].any()]
    width = 1.2 if len(evaluated) == 1 else 0.6
    for i, entity in enumerate(evaluated):
        part = model_parts[entity]
        labels, values = part["label"].to_numpy(), part["score"].to_numpy(dtype=np.float64)
        curve = metrics.pr_curve(labels, values)
        axes.plot(*_thin(curve["recall"], curve["precision"]), color="#1f3f6e", linewidth=width,
                  label="model" if i == 0 else None)
        control = metrics.pr_curve(labels, control_parts[entity]["score"].to_numpy(dtype=np.float64))
        axes.plot(*_thin(control["recall"], control["precision"]), color="#999999", linewidth=width,
                  label="random control" if i == 0 else None)
        run = _flagging(part, threshold, entity)
        if run is not None:
            precision, recall, _ = metrics.precision_recall_f1(labels, run.flags)
            axes.plot(recall, precision, "o", color="#c0392b", markersize=5,
                      label=f"at the threshold ({threshold['strategy']})" if i == 0 else None)
        best = metrics.best_f1(labels, values)
        axes.plot(best["recall"], best["precision"], "*", color="#e67e22", markersize=8,
                  label="oracle (best F1, test labels)" if i == 0 else None)
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_title("Precision-recall on the test data" + (f" ({len(evaluated)} entities)" if len(evaluated) > 1
                                                          else ""), fontsize=10)
    axes.legend(loc="upper right", fontsize=8)
    return figure


def top_events(ratio: np.ndarray, flags: np.ndarray, count: int, context: int) -> np.ndarray:
    """Positions of the ``count`` strongest events: flagged runs ranked by their peak, then the highest points.

    Each event is its peak position; events are more than ``2 * context`` points apart, so that their
    ``context``-point spans do not overlap (a greedy non-maximum suppression over ``count`` steps).
    """
    ratio = np.asarray(ratio, dtype=np.float64)
    order_key = np.where(flags, ratio + (np.nanmax(ratio) - np.nanmin(ratio) + 1.0), ratio)  # flags rank first
    available = np.isfinite(order_key)
    chosen: list[int] = []
    for _ in range(count):
        if not available.any():
            break
        peak = int(np.argmax(np.where(available, order_key, -np.inf)))
        chosen.append(peak)
        available[max(0, peak - 2 * context):peak + 2 * context + 1] = False
    return np.array(chosen, dtype=np.int64)


def plot_channel_contributions(windows_train: dict[str, WindowedSeries], windows_test: dict[str, WindowedSeries],
                               scores_test: pd.DataFrame, threshold: dict[str, Any],
                               evaluation: dict[str, Any] | None = None) -> Figure:
    """Heatmap of each channel's deviation from its training distribution around the top-scoring test events.

    Detector-agnostic: a channel's contribution at time t is |x_c(t) - mean_c| / std_c, with the mean and standard
    deviation of the entity's training features; it shows which channels moved, not how the detector weighed them.
    Events are the strongest flagged runs (then the highest decision / threshold points), ``context`` points each
    side; rows are the ``top_channels`` channels with the largest mean deviation over the shown spans.
    """
    options = evaluation_options(evaluation)["report"]
    count, context, top_channels = int(options["top_events"]), int(options["context"]), int(options["top_channels"])
    parts = split_entities(scores_test)
    candidates = []  # (strength, entity, position)
    for entity, part in parts.items():
        run = _flagging(part, threshold, entity)
        values = part["score"].to_numpy(dtype=np.float64)
        if run is None:
            ratio, flags = values, np.zeros(len(values), bool)
        else:
            ratio = run.decision / run.threshold if np.all(run.threshold > 0) else run.decision - run.threshold
            flags = run.flags
        for position in top_events(ratio, flags, count, context):
            candidates.append((float(ratio[position]) + (1e12 if flags[position] else 0.0), entity, int(position)))
    candidates = sorted(candidates, key=lambda c: -c[0])[:count]
    channels = list(next(iter(windows_test.values())).channels)
    spans, titles = [], []
    for _, entity, position in sorted(candidates, key=lambda c: (list(parts).index(c[1]), c[2])):
        train, test = windows_train[entity].values, windows_test[entity].values
        mean, std = train.mean(axis=0), train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        low, high = max(0, position - context), min(len(test), position + context + 1)
        spans.append((np.abs(test[low:high] - mean) / std).T)  # (C, span)
        when = windows_test[entity].index[position]
        titles.append(f"{entity + ' ' if entity else ''}{when}")
    figure = Figure(figsize=(12, 0.3 * min(top_channels, len(channels)) + 2.2), layout="constrained")
    axes = figure.add_subplot()
    if not spans:
        axes.text(0.5, 0.5, "no test events", ha="center")
        return figure
    strength = np.mean(np.concatenate(spans, axis=1), axis=1)
    rows = np.argsort(-strength, kind="stable")[:top_channels]
    separator = np.full((len(channels), 1), np.nan)
    matrix = np.concatenate([block for span in spans for block in (span, separator)][:-1], axis=1)[rows]
    finite = matrix[np.isfinite(matrix)]
    image = axes.imshow(matrix, aspect="auto", cmap="magma", interpolation="nearest",
                        vmin=0, vmax=float(np.quantile(finite, 0.99)) if len(finite) else 1.0)
    axes.set_yticks(range(len(rows)), [channels[r] for r in rows], fontsize=7)
    starts = np.cumsum([0] + [s.shape[1] + 1 for s in spans[:-1]])
    axes.set_xticks(starts + np.array([s.shape[1] for s in spans]) / 2, titles, fontsize=7)
    axes.set_title(f"Channel deviation from training (|x - mean| / std), {context} points around the top "
                   f"{len(spans)} events", fontsize=10)
    figure.colorbar(image, ax=axes, label="deviation (training std)")
    return figure
