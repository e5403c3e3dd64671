"""Ingestion stage: ``source_{train,test}`` (files as distributed) -> ``raw_{train,test}`` (typed Parquet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kedro.pipeline import Node, Pipeline


def ingestion_template(ingest: Callable, *, parameters: bool = False, extra_outputs: Sequence[str] = ()) -> Pipeline:
    """One node through the dataset's ingest function (its spec's, looked up when the pipeline is built).

    Args:
        ingest: ``(source_train, source_test[, options]) -> (raw_train, raw_test[, *extra_outputs])``.
        parameters: Pass ``params:ingestion`` as a third input (the composing pipeline maps it to
            ``data.<ds>.ingestion``).
        extra_outputs: Names of further outputs after ``raw_train`` and ``raw_test``.
    """
    inputs = ["source_train", "source_test"] + (["params:ingestion"] if parameters else [])
    return Pipeline([
        Node(ingest, inputs, ["raw_train", "raw_test", *extra_outputs], name="ingest"),
    ])
