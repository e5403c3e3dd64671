"""What can run: the datasets with their ingest function, and the (method, dataset) grid.

Per-dataset differences live here as a lookup of named functions made when pipelines are built (never as
``if dataset == ...`` inside nodes), and in the catalog and parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tsad.connectors.cicids import ingest_cicids
from tsad.connectors.generic import ingest_table
from tsad.connectors.kddcup99 import ingest_kddcup99
from tsad.connectors.psm import ingest_psm
from tsad.connectors.wadi import ingest_wadi
from tsad.pipelines.ingestion.entity_nodes import ingest_channels, ingest_nab, ingest_server_machines, ingest_ucr
from tsad.pipelines.ingestion.nodes import ingest_swat
from tsad.pipelines.serving.nodes import describe_model_input, describe_swat_input


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
        window_metrics: Also log window-level metrics with window-level point adjustment
            (``tsad.pipelines.window_evaluation``; TAnoGAN's protocol).
    """

    ingest: Callable
    ingest_parameters: bool = False
    extra_outputs: tuple[str, ...] = ()
    describe_input: Callable = describe_model_input
    window_metrics: bool = False


DATASETS: dict[str, DatasetSpec] = {
    "swat": DatasetSpec(ingest=ingest_swat, describe_input=describe_swat_input),
    # Multi-entity datasets: the ingest node takes data.<ds>.ingestion (entity subset; NAB: train_fraction).
    "smd": DatasetSpec(ingest=ingest_server_machines, ingest_parameters=True, extra_outputs=("channel_labels_test",)),
    "asd": DatasetSpec(ingest=ingest_server_machines, ingest_parameters=True, extra_outputs=("channel_labels_test",)),
    "msl": DatasetSpec(ingest=ingest_channels, ingest_parameters=True),
    "smap": DatasetSpec(ingest=ingest_channels, ingest_parameters=True),
    "nab": DatasetSpec(ingest=ingest_nab, ingest_parameters=True),
    # TAnoGAN's protocol on NAB (methods.md §4.4): train = test = the whole series (ingestion.protocol: paper).
    "nab_paper": DatasetSpec(ingest=ingest_nab, ingest_parameters=True, window_metrics=True),
    "ucr": DatasetSpec(ingest=ingest_ucr, ingest_parameters=True),
    "wadi": DatasetSpec(ingest=ingest_wadi),  # the simulated network by default (conf/base/catalog/raw/wadi.yml)
    "psm": DatasetSpec(ingest=ingest_psm),
    "kddcup99": DatasetSpec(ingest=ingest_kddcup99),
    "cicids2017": DatasetSpec(ingest=ingest_cicids),
}
# A (method, dataset) run that also evaluates the method under its paper's protocol, on a companion dataset named
# <ds>_paper, in the same run and MLflow run: tanogan_nab logs ours as tanogan.* and the paper's as tanogan.paper.*
# (conf/base/catalog/08_reporting_paper.yml keeps the two apart).
PAPER_PROTOCOLS: dict[tuple[str, str], str] = {("tanogan", "nab"): "nab_paper"}

# A dataset declared in configuration (datasets.<name>.source: CSV or Parquet files, tsad.connectors.generic).
TABLE_DATASET = DatasetSpec(ingest=ingest_table)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def declared_datasets(names: Iterable[str]) -> dict[str, DatasetSpec]:
    """The specs of the datasets declared by a ``datasets.<name>.source`` block (``tsad.config.declared_sources``).

    Raises:
        ValueError: A name of a built-in dataset (its own catalog entries would shadow the source block), or a
            name that cannot be a Kedro namespace (letters, digits and underscores, starting with a letter).
    """
    names = list(names)
    builtin = sorted(set(names) & set(DATASETS))
    if builtin:
        raise ValueError(f"datasets.{builtin[0]}.source: {builtin} are built-in datasets with their own readers; "
                         "declare your files under another name")
    bad = [n for n in names if not _NAME.fullmatch(n)]
    if bad:
        raise ValueError(f"datasets.{bad[0]}.source: a dataset name is letters, digits and underscores, starting with "
                         f"a letter; got {bad}")
    return dict.fromkeys(names, TABLE_DATASET)


def experiment_grid(datasets: Iterable[str], methods: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Every (method, dataset) pair: the methods are the keys of the ``methods`` parameters."""
    return tuple((m, ds) for ds in datasets for m in methods)
