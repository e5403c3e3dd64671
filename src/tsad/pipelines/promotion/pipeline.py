"""Promotion and rollback pipelines of a dataset (``promote_<ds>``, ``rollback_<ds>``; nodes in ``nodes.py``).

``<ds>.raw_test`` (the held-out split, as the last data run left it) -> ``<ds>.promotion_scores`` ->
``<ds>.promotion_decision`` -> ``<ds>.promotion_outcome`` and ``<ds>.promotion_report`` (MLflow artifacts of the
promotion's run), with ``<ds>.promotion_plot``. Parameters: ``promotion`` (candidates and rules) and ``approve``.
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.promotion.nodes import (
    apply_promotion,
    judge_candidates,
    plot_candidates,
    roll_back,
    score_candidates,
)


def promotion_pipeline(dataset: str, describe_input) -> Pipeline:
    # update_wrapper: the partial keeps the function's name (Kedro's logs and Kedro-Viz)
    score = update_wrapper(partial(score_candidates, dataset=dataset, describe_input=describe_input), score_candidates)
    return Pipeline([
        Node(score, [f"{dataset}.raw_test", "params:promotion", f"params:data.{dataset}.windowing"],
             [f"{dataset}.promotion_scores", f"{dataset}.promotion_candidates"], name="score_candidates",
             namespace=dataset),
        Node(judge_candidates, [f"{dataset}.promotion_scores", f"{dataset}.promotion_candidates", "params:promotion"],
             f"{dataset}.promotion_decision", name="judge_candidates", namespace=dataset),
        Node(plot_candidates, f"{dataset}.promotion_scores", f"{dataset}.promotion_plot",
             name="plot_candidates", namespace=dataset),
        Node(apply_promotion, [f"{dataset}.promotion_decision", "params:approve"],
             [f"{dataset}.promotion_outcome", f"{dataset}.promotion_report"], name="apply_promotion",
             namespace=dataset),
    ])


def rollback_pipeline(dataset: str) -> Pipeline:
    return Pipeline([Node(update_wrapper(partial(roll_back, dataset=dataset), roll_back), None,
                          f"{dataset}.rollback_outcome",
                          name="roll_back", namespace=dataset)])
