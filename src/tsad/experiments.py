"""What can run: the methods, and their (method, dataset) grid over the datasets of ``tsad.datasets.registry``.

Per-dataset differences live in each dataset's home package as a spec of named functions, looked up when pipelines
are built (never as ``if dataset == ...`` inside nodes), and in the catalog and parameters.
"""

from __future__ import annotations

from collections.abc import Iterable

from tsad.datasets.registry import DATASETS

METHODS: tuple[str, ...] = ("pca", "random", "tman", "tanogan", "transformer", "lstm")
EXPERIMENTS: tuple[tuple[str, str], ...] = tuple((m, ds) for ds in DATASETS for m in METHODS)
# A (method, dataset) run that also evaluates the method under its paper's protocol, on a companion dataset named
# <ds>_paper, in the same run and MLflow run: tanogan_nab logs ours as tanogan.* and the paper's as tanogan.paper.*
# (conf/base/catalog/08_reporting_paper.yml keeps the two apart).
PAPER_PROTOCOLS: dict[tuple[str, str], str] = {("tanogan", "nab"): "nab_paper"}


def experiment_grid(datasets: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Every (method, dataset) pair of ``datasets``."""
    return tuple((m, ds) for ds in datasets for m in METHODS)
