"""Cleaning stage: ``raw_*`` -> ``clean_*`` (versioned Parquet) -> ``scaler`` (train only) -> ``scaled_*``; and
``departures_test``, where the channels kept as evidence depart from their training value in the test split."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.core.preprocessing import scale
from tsad.pipelines.cleaning.nodes import clean_test_series, clean_training_series, evidence_departures, fit_scaler


def cleaning_template() -> Pipeline:
    # The test split goes through tsad.core.preprocessing, as the rows a registered model receives.
    return Pipeline([
        Node(clean_training_series, ["raw_train", "raw_test", "params:cleaning"], ["clean_train", "cleaning_report"],
             name="clean_training_series"),
        Node(clean_test_series, ["raw_test", "cleaning_report"], "clean_test", name="clean_test_series"),
        Node(evidence_departures, ["raw_test", "cleaning_report"], "departures_test", name="find_test_departures"),
        Node(fit_scaler, ["clean_train", "params:scaling"], "scaler", name="fit_scaler"),
        Node(scale, ["clean_train", "scaler"], "scaled_train", name="scale_train"),
        Node(scale, ["clean_test", "scaler"], "scaled_test", name="scale_test"),
    ])
