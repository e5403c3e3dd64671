"""What can run: the datasets with their ingest function, the methods, and their (method, dataset) grid.

Per-dataset differences live here as a lookup of named functions made when pipelines are built (never as
``if dataset == ...`` inside nodes), and in the catalog and parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tsad.pipelines.ingestion.nodes import ingest_swat


@dataclass(frozen=True)
class DatasetSpec:
    """How a dataset enters the stage pipelines.

    Attributes:
        ingest: Node function turning the loaded source splits (train, test) into typed frames.
    """

    ingest: Callable


DATASETS: dict[str, DatasetSpec] = {
    "swat": DatasetSpec(ingest=ingest_swat),
}
METHODS: tuple[str, ...] = ("pca", "random", "tman")
EXPERIMENTS: tuple[tuple[str, str], ...] = tuple((m, ds) for ds in DATASETS for m in METHODS)
