"""A model bundle fitted as the training pipeline fits one, for the streaming tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import STAGE_PARAMS, stage_outputs, synthetic_series

from tsad.pipelines.serving.nodes import bundle_model, bundle_preprocessing
from tsad.serving import input_format


def model_bundle(train: pd.DataFrame, test: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """A model bundle fitted as the training pipeline fits one (PCA), and the test rows as a model receives them."""
    out = stage_outputs(train, test)
    pre = bundle_preprocessing(input_format(test), out["cleaning_report"], out["scaler"], out["selected_features"],
                               STAGE_PARAMS["windowing"])
    return bundle_model(pre, out["detector"], out["threshold"], STAGE_PARAMS["scoring"]), test.drop(columns="label")


def split(series: pd.DataFrame, at: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows and test rows of one series (same coupling), with two events injected into the test rows."""
    train, test = series.iloc[:at], series.iloc[at:].copy()
    test.iloc[100:130, 0] += 2.5
    test.iloc[300:310, 2] -= 3.0
    test["label"] = 0
    test.iloc[np.r_[100:130, 300:310], test.columns.get_loc("label")] = 1
    return train, test


def single_series_bundle() -> tuple[dict, pd.DataFrame]:
    """PCA's bundle on 1,200 training rows of a synthetic series, and its 500 test rows with two events."""
    return model_bundle(*split(synthetic_series(1700, seed=1, anomalies=False), 1200))
