"""Ingestion stage: ``source_{train,test}`` (files as distributed) -> ``raw_{train,test}`` (typed Parquet)."""

from __future__ import annotations

from collections.abc import Callable

from kedro.pipeline import Node, Pipeline


def ingestion_template(ingest: Callable) -> Pipeline:
    """Both splits through the dataset's ingest function (looked up when the pipeline is built)."""
    return Pipeline([
        Node(ingest, "source_train", "raw_train", name="ingest_train"),
        Node(ingest, "source_test", "raw_test", name="ingest_test"),
    ])
