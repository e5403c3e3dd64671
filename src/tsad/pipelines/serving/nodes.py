"""Serving nodes: what a registered model holds (the model bundle) and how it scores new raw rows.

The bundle gathers every fitted piece of the inference path: the input format, the cleaning decisions, the
per-entity scaler, the selected features, the window geometry, the detector and the threshold. Scoring new
rows runs the same functions the training pipeline ran on its test split, so the registered model
reproduces the pipeline's test scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tsad.core import thresholds
from tsad.core.errors import DataFormatError
from tsad.core.frames import join_entities, split_entities
from tsad.core.preprocessing import departures, preprocess
from tsad.core.score_frames import flag_scores
from tsad.pipelines.scoring.nodes import score_series
from tsad.pipelines.windowing.nodes import make_windows
from tsad.serving import frame_from_rows, input_format, rows_from_frame, swat_input_format


def describe_model_input(raw_test: pd.DataFrame, windowing: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """An example of model input rows (the start of the test data) and their format.

    The example holds thirty windows' worth of rows of the first entity: enough for the model to score it,
    even after the GDN recipe's downsampling by 10.
    """
    return _example(raw_test, input_format(raw_test), windowing)


def describe_swat_input(raw_test: pd.DataFrame, windowing: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Like ``describe_model_input``, with SWaT's own columns: ``Timestamp`` text and the 51 tags."""
    return _example(raw_test, swat_input_format(raw_test), windowing)


def bundle_preprocessing(input_format: dict[str, Any], cleaning_report: dict[str, Any], scaler: dict[str, Any],
                         selected_features: list[str], windowing: dict[str, Any]) -> dict[str, Any]:
    """The dataset-level part of the inference path, fitted on training data."""
    return {"input_format": input_format, "cleaning": cleaning_report, "scaler": scaler,
            "selected_features": list(selected_features), "windowing": dict(windowing)}


def bundle_model(preprocessing: dict[str, Any], detector: dict[str, Any], threshold: dict[str, Any],
                 scoring: dict[str, Any]) -> dict[str, Any]:
    """Everything a registered model needs, as one checkpoint dict (tensors and plain values only)."""
    return {"preprocessing": preprocessing, "detector": detector, "threshold": threshold, "scoring": dict(scoring)}


def prepare_model_input(model_input: pd.DataFrame, model_bundle: dict[str, Any]) -> pd.DataFrame:
    """Validate raw model input rows against the bundle's input format and type them."""
    return frame_from_rows(model_input, model_bundle["preprocessing"]["input_format"])


def score_new_data(inference_frame: pd.DataFrame, model_bundle: dict[str, Any]) -> pd.DataFrame:
    """Scores and flags of new data, through the training pipeline's own functions.

    Returns:
        One row per timestamp (and entity): the time column, ``score`` (higher = more anomalous) and ``flag``
        (the threshold strategy's flags, e.g. the score reaching the entity's threshold for ``persistence``
        consecutive timestamps; with per-channel thresholds, the channel flags combined by their rule; and every
        row where a channel kept as evidence departed from its training value), ``score.<channel>`` per channel
        for detectors that score each channel, and ``departed.<channel>`` per evidence channel with their count
        ``departed``.
    """
    pre = model_bundle["preprocessing"]
    features = preprocess(inference_frame, pre, "model input")  # what the training pipeline did to its test split
    departed = departures(inference_frame, pre["cleaning"], "model input")
    return _as_rows(score_features(features, model_bundle, departed), pre["input_format"])


def score_features(features: pd.DataFrame, model_bundle: dict[str, Any], departed: pd.DataFrame) -> pd.DataFrame:
    """Scores and flags of preprocessed features and the departures of the evidence channels on the same rows
    (``tsad.core.preprocessing.departures``): the second half of ``score_new_data``, which streaming scoring also
    runs on each entity's buffered rows.

    Returns:
        A score frame on the features' index: ``score``, ``score.<channel>`` for detectors that score each
        channel, ``departed.<channel>`` and ``departed``, and ``flag`` (int8).
    """
    pre = model_bundle["preprocessing"]
    scores = score_series(model_bundle["detector"], make_windows(features, pre["windowing"]), model_bundle["scoring"],
                          departed)
    record = model_bundle["threshold"]
    # flag_scores, as the evaluation stage: per-channel thresholds flag from the channel score columns.
    flags = [flag_scores(part, thresholds.from_record(record, entity)).flags
             for entity, part in split_entities(scores).items()]
    scores["flag"] = np.concatenate(flags).astype(np.int8)
    return scores


def _example(raw_test: pd.DataFrame, fmt: dict[str, Any], windowing: dict[str, Any]) -> tuple[pd.DataFrame, dict]:
    first = next(iter(split_entities(raw_test).items()))
    rows = 30 * int(windowing["window"])
    example = join_entities({first[0]: first[1].iloc[:rows]})
    return rows_from_frame(example, fmt), fmt


def _as_rows(scores: pd.DataFrame, fmt: dict[str, Any]) -> pd.DataFrame:
    rows = scores.drop(columns=["label"], errors="ignore").reset_index()
    time_name = scores.index.names[-1]
    if pd.api.types.is_datetime64_any_dtype(rows[time_name]):  # ISO text serialises cleanly through MLflow serving
        rows[time_name] = np.datetime_as_string(rows[time_name].to_numpy().astype("datetime64[s]"))
    return rows


def predict_with_registered_model(registered_model: Any, new_data: pd.DataFrame,
                                  inference: dict[str, Any]) -> pd.DataFrame:
    """Score new rows with a registered model (batch inference).

    Args:
        registered_model: An ``mlflow.pyfunc`` model loaded from the registry.
        new_data: Rows in the model's input format: for SWaT, a raw SWaT file as distributed (text cells;
            decimal commas are read as decimal points).
        inference: ``ignore_columns``: columns of the file the model does not take (e.g. the label).

    Returns:
        The model's predictions (time, optional entity, ``score``, ``flag``) with times typed again.

    Raises:
        DataFormatError: The file's columns do not match the model's signature (missing and extra named).
    """
    schema = registered_model.metadata.get_input_schema()
    expected = schema.input_names()
    rows = new_data.drop(columns=[c for c in inference.get("ignore_columns", []) if c in new_data.columns])
    missing = [c for c in expected if c not in rows.columns]
    extra = [c for c in rows.columns if c not in expected]
    if missing or extra:
        raise DataFormatError(f"{new_data.attrs.get('source', 'new data')}: missing columns {missing}, unexpected "
                              f"columns {extra}; the model's signature expects {expected}")
    numeric = [spec.name for spec in schema.inputs if spec.type.name in {"double", "float"}]
    # Text cells (decimal commas included) and integer columns (actuator states) become float64: MLflow
    # refuses to convert int64 to double by itself.
    rows = rows.assign(**{c: (rows[c] if pd.api.types.is_numeric_dtype(rows[c]) else pd.to_numeric(
        rows[c].astype(str).str.strip().str.replace(",", ".", regex=False), errors="coerce")).astype(np.float64)
        for c in numeric})
    predictions = registered_model.predict(rows[expected])
    for column in ("timestamp",):
        if column in predictions.columns:
            predictions[column] = pd.to_datetime(predictions[column])
    return predictions
