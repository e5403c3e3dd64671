"""What a dataset declares to enter the stage pipelines (``tsad.pipelines.compose.data_pipeline``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tsad.pipelines.serving.nodes import describe_model_input


@dataclass(frozen=True)
class DatasetSpec:
    """How a dataset enters the stage pipelines.

    Attributes:
        ingest: Node function turning the loaded source splits (train, test) into typed frames.
        ingest_parameters: The ingest node also takes ``params:ingestion`` (``data.<ds>.ingestion``: the entity
            subset of a multi-entity dataset, a split fraction ...) as its third input.
        extra_outputs: Outputs the ingest node returns after ``raw_train`` and ``raw_test`` (e.g.
            ``channel_labels_test``: SMD's per-metric labels), each a catalog entry ``<ds>.<name>``.
        describe_input: Node function giving an example of the rows a registered model takes, and their
            format (``tsad.serving``): the typed frame's own columns by default, SWaT's file columns for SWaT.

    Evaluation protocols besides ours are parameters (``datasets.<ds>.protocols``, ``tsad.config.protocols``).
    """

    ingest: Callable
    ingest_parameters: bool = False
    extra_outputs: tuple[str, ...] = ()
    describe_input: Callable = describe_model_input
