"""Ingestion stage: ``source_{train,test}`` (files as distributed) -> ``raw_{train,test}`` (typed Parquet).

``ingestion.zero_label`` (any dataset) replaces the two splits by a cut in time of the test split
(``tsad.pipelines.ingestion.zero_label``). The node also checks that the data can go through the whole data
pipeline (``tsad.pipelines.ingestion.checks``) before Kedro saves its outputs, so a refused input writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from tsad.pipelines.ingestion.checks import check_data_pipeline_inputs
from tsad.pipelines.ingestion.zero_label import OPTION, apply_zero_label, zero_label_options


def ingestion_template(ingest: Callable, *, parameters: bool = False, extra_outputs: Sequence[str] = ()) -> Pipeline:
    """One node through the dataset's ingest function (its spec's, looked up when the pipeline is built), checked.

    The node takes ``params:ingestion`` (the composing pipeline maps it to ``data.<ds>.ingestion``) for every
    dataset: its ``zero_label`` key is the protocol's, applied here; the dataset's ingest gets the rest.

    Args:
        ingest: ``(source_train, source_test[, options]) -> (raw_train, raw_test[, *extra_outputs])``.
        parameters: The ingest function takes the ingestion options (without ``zero_label``) as its third argument.
        extra_outputs: Names of further outputs after ``raw_train`` and ``raw_test``.
    """
    return Pipeline([
        Node(checked(ingest, parameters), ["source_train", "source_test", "params:ingestion", "params:cleaning",
                                           "params:windowing"],
             ["raw_train", "raw_test", *extra_outputs], name="ingest"),
    ])


def checked(ingest: Callable, parameters: bool = False) -> Callable:
    """``ingest`` (with the ingestion options when ``parameters``), then the zero-label protocol when
    ``ingestion.zero_label`` asks for it, then ``check_data_pipeline_inputs`` on the typed frames (three more
    inputs: the ingestion, cleaning and windowing parameters)."""

    def ingest_and_check(source_train: Any, source_test: Any, ingestion: dict[str, Any] | None,
                         cleaning: dict[str, Any], windowing: dict[str, Any]) -> Any:
        options = {k: v for k, v in (ingestion or {}).items() if k != OPTION}
        outputs = ingest(source_train, source_test, options) if parameters else ingest(source_train, source_test)
        zero_label = zero_label_options(ingestion)
        if zero_label is not None:
            outputs = apply_zero_label(outputs, zero_label)
        check_data_pipeline_inputs(outputs[0], outputs[1], cleaning, windowing)
        return outputs

    # Kedro-Viz and the logs show the dataset's ingest function (not functools.wraps: its __wrapped__ would make
    # Kedro check the inputs against ingest's own signature)
    ingest_and_check.__name__, ingest_and_check.__qualname__ = ingest.__name__, ingest.__qualname__
    ingest_and_check.__doc__, ingest_and_check.__module__ = ingest.__doc__, ingest.__module__
    return ingest_and_check
