"""Feature-selection stage: ``scaled_train`` -> ``gra_grades`` -> ``selected_features`` -> ``features_*``."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from tsad.core.preprocessing import select
from tsad.pipelines.feature_selection.nodes import grade_features, plot_grades, select_features


def feature_selection_template() -> Pipeline:
    return Pipeline([
        Node(grade_features, ["scaled_train", "params:feature_selection"], "gra_grades", name="grade_features"),
        Node(select_features, ["gra_grades", "params:feature_selection"], "selected_features",
             name="select_features"),
        Node(plot_grades, ["gra_grades", "selected_features"], "gra_plot", name="plot_grades"),
        Node(select, ["scaled_train", "selected_features"], "features_train", name="keep_features_train"),
        Node(select, ["scaled_test", "selected_features"], "features_test", name="keep_features_test"),
    ])
