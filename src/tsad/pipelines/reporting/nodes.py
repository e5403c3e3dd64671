"""Reporting nodes: the metrics table of model and random control, the markdown report, the score timeline, the PR
curve and the channel contribution heatmap, from the evaluation stage's outputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tsad.core import metrics
from tsad.core.evaluation import MEAN_ROW, SERIES_ROW, EvaluationOptions
from tsad.core.frames import SINGLE, split_entities
from tsad.core.metrics import segments
from tsad.core.score_frames import DEPARTED, DEPARTED_PREFIX, departed_channels, entity_flagging
from tsad.core.windows import WindowedSeries

_PLOT_POINTS = 4000  # the timeline is max-pooled to this many bins so that long series stay readable
_CURVE_POINTS = 2000  # PR curves are thinned to this many points

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


# --------------------------------------------------------------------------------------------------- report
def write_report(table: pd.DataFrame, control_table: pd.DataFrame, threshold: dict[str, Any],
                 model: dict[str, Any], scores_test: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The metrics table of model and random control (one CSV) and a short markdown report, which names the
    evidence channels that departed in the test scores (``scores_test``).

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
    lines += _evidence_lines(scores_test)
    if table.empty:
        lines += ["The test data has no labels: no metric is computed.", ""]
        return combined, "\n".join(lines)
    row = SERIES_ROW if SERIES_ROW in table.index else MEAN_ROW
    scope = "the series" if row == SERIES_ROW else f"the mean over {len(table) - 1} entities with anomalies"
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


def _evidence_lines(scores: pd.DataFrame) -> list[str]:
    """The report's section on the channels kept as evidence and the test rows where they departed."""
    names = departed_channels(scores)
    lines = ["## Evidence channels", ""]
    if not names:
        return lines + ["- No channel constant in training is kept as evidence (`cleaning.constant_evidence`).", ""]
    departed = scores[DEPARTED].to_numpy() > 0
    lines += [f"- Constant in training, kept as evidence: {', '.join(f'`{n}`' for n in names)}. A test row where one "
              "departs from its training value is flagged whatever its score (the threshold-free metrics use the "
              f"score alone): {int(departed.sum())} of {len(scores)} test rows.", ""]
    if not departed.any():
        return lines
    labels = scores["label"].to_numpy() > 0 if "label" in scores.columns else None
    lines += ["| evidence channel | test rows departed |" + (" of them labelled anomalous |" if labels is not None
                                                             else ""),
              "|---|---|" + ("---|" if labels is not None else "")]
    for name in names:
        rows = scores[f"{DEPARTED_PREFIX}{name}"].to_numpy() > 0
        if rows.any():
            lines.append(f"| `{name}` | {int(rows.sum())} |" + (f" {int((rows & labels).sum())} |"
                                                                 if labels is not None else ""))
    return lines + [""]


def _fmt(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


# --------------------------------------------------------------------------------------------------- plots
def plot_score_timeline(scores_test: pd.DataFrame, threshold: dict[str, Any]) -> Figure:
    """Test scores over time with labelled anomalies shaded, the threshold drawn and the flags marked.

    The curve is the decision score (the score, or its EWMA for the dynamic strategy; with per-channel thresholds,
    the k-th largest channel score over its channel's threshold, k = 1 for ``any``). Multi-entity data is drawn
    entity after entity, each decision score divided by its entity's threshold (so the threshold is the line at
    1; a difference with the line at 0 where a threshold is not positive), with the entity boundaries marked.
    """
    parts = split_entities(scores_test)
    single = list(parts) == [SINGLE]
    runs = {e: entity_flagging(p, threshold, e) for e, p in parts.items()}
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
        run = entity_flagging(part, threshold, entity)
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


def strongest_events(scores_test: pd.DataFrame, threshold: dict[str, Any], count: int, context: int
                     ) -> list[tuple[str, int]]:
    """The ``count`` strongest test events over every entity, as (entity, row position of the peak) in entity and
    time order: flagged runs first, ranked by decision / threshold (``top_events`` within each entity)."""
    parts = split_entities(scores_test)
    candidates = []  # (strength, entity, position)
    for entity, part in parts.items():
        run = entity_flagging(part, threshold, entity)
        values = part["score"].to_numpy(dtype=np.float64)
        if run is None:
            ratio, flags = values, np.zeros(len(values), bool)
        else:
            ratio = run.decision / run.threshold if np.all(run.threshold > 0) else run.decision - run.threshold
            flags = run.flags
        for position in top_events(ratio, flags, count, context):
            candidates.append((float(ratio[position]) + (1e12 if flags[position] else 0.0), entity, int(position)))
    candidates = sorted(candidates, key=lambda c: -c[0])[:count]
    return [(entity, position) for _, entity, position in sorted(candidates, key=lambda c: (list(parts).index(c[1]),
                                                                                           c[2]))]


def plot_channel_contributions(windows_train: dict[str, WindowedSeries], windows_test: dict[str, WindowedSeries],
                               scores_test: pd.DataFrame, threshold: dict[str, Any],
                               evaluation: dict[str, Any]) -> Figure:
    """Heatmap of each channel's deviation from its training distribution around the top-scoring test events.

    Detector-agnostic: a channel's contribution at time t is |x_c(t) - mean_c| / std_c, with the mean and standard
    deviation of the entity's training features; it shows which channels moved, not how the detector weighed them.
    Events are the strongest flagged runs (then the highest decision / threshold points), ``context`` points each
    side; rows are the ``top_channels`` channels with the largest mean deviation over the shown spans.
    """
    options = EvaluationOptions.from_params(evaluation).report
    count, context, top_channels = options.top_events, options.context, options.top_channels
    channels = list(next(iter(windows_test.values())).channels)
    spans, titles = [], []
    for entity, position in strongest_events(scores_test, threshold, count, context):
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
