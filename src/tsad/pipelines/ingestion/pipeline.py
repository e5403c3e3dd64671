"""Ingestion stage: ``source_{train,test}`` (files as distributed) -> ``raw_{train,test}`` (typed Parquet)."""

from __future__ import annotations

from collections.abc import Callable

from kedro.pipeline import Node, Pipeline


def ingestion_template(ingest: Callable) -> Pipeline:
    """One node through the dataset's ingest function (looked up when the pipeline is built)."""
    return Pipeline([
        Node(ingest, ["source_train", "source_test"], ["raw_train", "raw_test"], name="ingest"),
    ])
