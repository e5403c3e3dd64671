"""Cleaning stage: ``raw_*`` -> ``clean_*`` (versioned Parquet) -> ``scaler`` (train only) -> ``scaled_*``."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.cleaning.nodes import apply_scaler, clean_series, fit_scaler


def cleaning_template() -> Pipeline:
    return Pipeline([
        Node(clean_series, ["raw_train", "raw_test", "params:cleaning"],
             ["clean_train", "clean_test", "cleaning_report"], name="clean_series"),
        Node(fit_scaler, ["clean_train", "params:scaling"], "scaler", name="fit_scaler"),
        Node(apply_scaler, ["clean_train", "scaler"], "scaled_train", name="scale_train"),
        Node(apply_scaler, ["clean_test", "scaler"], "scaled_test", name="scale_test"),
    ])
