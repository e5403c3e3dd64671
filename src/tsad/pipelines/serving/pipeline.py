"""Serving stage: the model bundle the registry stores, and the inference pipeline a registered model runs.

Data level (namespace ``ds``): ``raw_test`` -> ``model_input`` (an example of input rows, also the model's
input slot) and ``input_format``; ``preprocessing`` gathers the fitted data-level pieces. Model level
(namespace ``ds.method``): ``model_bundle``. Inference: ``model_input`` + ``model_bundle`` -> ``predictions``.
"""

from __future__ import annotations

from collections.abc import Callable

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.serving.nodes import (
    bundle_model,
    bundle_preprocessing,
    predict_with_registered_model,
    prepare_model_input,
    score_new_data,
)


def serving_data_template(describe_input: Callable) -> Pipeline:
    return Pipeline([
        Node(describe_input, ["raw_test", "params:windowing"], ["model_input", "input_format"],
             name="describe_model_input"),
        Node(bundle_preprocessing, ["input_format", "cleaning_report", "scaler", "selected_features",
                                    "params:windowing"], "preprocessing", name="bundle_preprocessing"),
    ])


def serving_model_template() -> Pipeline:
    return Pipeline([
        Node(bundle_model, ["preprocessing", "detector", "threshold", "params:scoring"], "model_bundle",
             name="bundle_model"),
    ])


def inference_template() -> Pipeline:
    return Pipeline([
        Node(prepare_model_input, ["model_input", "model_bundle"], "inference_frame", name="prepare_model_input"),
        Node(score_new_data, ["inference_frame", "model_bundle"], "predictions", name="score_new_data"),
    ])


def batch_inference_template() -> Pipeline:
    return Pipeline([
        Node(predict_with_registered_model, ["registered_model", "new_data", "params:inference"], "new_scores",
             name="predict_with_registered_model"),
    ])
