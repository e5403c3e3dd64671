"""Ingestion stage: ``source_{train,test}`` (files as distributed) -> ``raw_{train,test}`` (typed Parquet).

The node also checks that the data can go through the whole data pipeline (``tsad.pipelines.ingestion.checks``)
before Kedro saves its outputs, so a refused input writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.ingestion.checks import check_data_pipeline_inputs


def ingestion_template(ingest: Callable, *, parameters: bool = False, extra_outputs: Sequence[str] = ()) -> Pipeline:
    """One node through the dataset's ingest function (its spec's, looked up when the pipeline is built), checked.

    Args:
        ingest: ``(source_train, source_test[, options]) -> (raw_train, raw_test[, *extra_outputs])``.
        parameters: Pass ``params:ingestion`` as a third input (the composing pipeline maps it to
            ``data.<ds>.ingestion``).
        extra_outputs: Names of further outputs after ``raw_train`` and ``raw_test``.
    """
    inputs = ["source_train", "source_test"] + (["params:ingestion"] if parameters else [])
    return Pipeline([
        Node(checked(ingest), [*inputs, "params:cleaning", "params:windowing"],
             ["raw_train", "raw_test", *extra_outputs], name="ingest"),
    ])


def checked(ingest: Callable) -> Callable:
    """``ingest`` followed by ``check_data_pipeline_inputs`` on its typed frames (two more inputs: the cleaning and
    windowing parameters)."""

    def ingest_and_check(*args: Any) -> Any:
        *sources, cleaning, windowing = args
        outputs = ingest(*sources)
        check_data_pipeline_inputs(outputs[0], outputs[1], cleaning, windowing)
        return outputs

    # Kedro-Viz and the logs show the dataset's ingest function (not functools.wraps: its __wrapped__ would make
    # Kedro check the inputs against ingest's own signature)
    ingest_and_check.__name__, ingest_and_check.__qualname__ = ingest.__name__, ingest.__qualname__
    ingest_and_check.__doc__, ingest_and_check.__module__ = ingest.__doc__, ingest.__module__
    return ingest_and_check
