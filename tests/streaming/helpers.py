"""A model bundle fitted as the training pipeline fits one, for the streaming tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import STAGE_PARAMS, stage_outputs, synthetic_series

from tsad.pipelines.serving.nodes import bundle_model, bundle_preprocessing
from tsad.serving import input_format


def model_bundle(train: pd.DataFrame, test: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """A model bundle fitted as the training pipeline fits one (PCA), and the test rows as a model receives them."""
    return bundle_of(stage_outputs(train, test), test), test.drop(columns="label")


def bundle_of(out: dict, test: pd.DataFrame, params: dict = STAGE_PARAMS) -> dict:
    """The model bundle of the stage outputs ``out`` (``conftest.stage_outputs``) run with ``params``."""
    pre = bundle_preprocessing(input_format(test), out["cleaning_report"], out["scaler"], out["selected_features"],
                               params["windowing"])
    return bundle_model(pre, out["detector"], out["threshold"], params["scoring"])


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


EVIDENCE_ROWS = np.r_[200:215, 400]  # test rows where the pump P101, off (0) in training, runs (1)


def evidence_case() -> tuple[dict, dict, pd.DataFrame]:
    """The stage outputs, the model bundle and the test rows a model receives, for a series with two channels
    constant in training: the pump ``P101`` (0, kept as evidence: ``P[0-9]*``) runs in ``EVIDENCE_ROWS`` (an attack
    of 15 rows and one lone row; a persistence of 3 would suppress the lone row's score flag) and reads 0.3 (within
    the tolerance of 0.5) in rows 300-309; ``flat`` (3.0, not evidence) reads 9.0 throughout the test rows."""
    train, test = split(synthetic_series(1700, seed=1, anomalies=False), 1200)
    for frame, flat in ((train, 3.0), (test, 9.0)):
        frame.insert(0, "P101", np.float32(0.0))
        frame.insert(1, "flat", np.float32(flat))
    test.iloc[EVIDENCE_ROWS, 0] = 1.0
    test.iloc[300:310, 0] = 0.3
    test.iloc[200:215, test.columns.get_loc("label")] = 1
    params = {**STAGE_PARAMS, "threshold": {**STAGE_PARAMS["threshold"], "persistence": 3},
              "cleaning": {**STAGE_PARAMS["cleaning"], "constant_evidence": ["P[0-9]*"], "evidence_tolerance": 0.5}}
    out = stage_outputs(train, test, params)
    return out, bundle_of(out, test, params), test.drop(columns="label")
