"""Promotion and rollback pipelines of a dataset (``promote_<ds>``, ``rollback_<ds>``; nodes in ``nodes.py``).

``<ds>.raw_test`` (the held-out split, as the last data run left it) -> ``<ds>.promotion_scores`` ->
``<ds>.promotion_decision`` -> ``<ds>.promotion_outcome`` and ``<ds>.promotion_report`` (MLflow artifacts of the
promotion's run), with ``<ds>.promotion_plot``. Parameters: ``promotion`` (candidates and rules) and ``approve``.
"""

from __future__ import annotations

from functools import partial

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.promotion.nodes import (
    apply_promotion,
    judge_candidates,
    plot_candidates,
    roll_back,
    score_candidates,
)


def promotion_pipeline(dataset: str, describe_input) -> Pipeline:
    score = partial(score_candidates, dataset=dataset, describe_input=describe_input)
    return Pipeline([
        Node(score, [f"{dataset}.raw_test", "params:promotion", f"params:data.{dataset}.windowing"],
             [f"{dataset}.promotion_scores", f"{dataset}.promotion_candidates"], name=f"{dataset}.score_candidates"),
        Node(judge_candidates, [f"{dataset}.promotion_scores", f"{dataset}.promotion_candidates", "params:promotion"],
             f"{dataset}.promotion_decision", name=f"{dataset}.judge_candidates"),
        Node(plot_candidates, f"{dataset}.promotion_scores", f"{dataset}.promotion_plot",
             name=f"{dataset}.plot_candidates"),
        Node(apply_promotion, [f"{dataset}.promotion_decision", "params:approve"],
             [f"{dataset}.promotion_outcome", f"{dataset}.promotion_report"], name=f"{dataset}.apply_promotion"),
    ])


def rollback_pipeline(dataset: str) -> Pipeline:
    return Pipeline([Node(partial(roll_back, dataset=dataset), None, f"{dataset}.rollback_outcome",
                          name=f"{dataset}.roll_back")])
