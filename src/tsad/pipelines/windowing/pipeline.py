"""Windowing stage: ``features_*`` -> ``windows_{train,val,test}`` (views; kept in memory, never copied)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.windowing.nodes import make_fit_windows, make_windows, split_validation


def windowing_template() -> Pipeline:
    return Pipeline([
        Node(split_validation, ["features_train", "params:windowing"], ["features_fit", "features_val"],
             name="split_validation"),
        Node(make_fit_windows, ["features_fit", "params:windowing"], "windows_train", name="make_windows_train"),
        Node(make_windows, ["features_val", "params:windowing"], "windows_val", name="make_windows_val"),
        Node(make_windows, ["features_test", "params:windowing"], "windows_test", name="make_windows_test"),
    ])
