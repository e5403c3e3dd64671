"""What can run: the (method, dataset) grid over the datasets of ``tsad.datasets.registry`` and the methods of the
``methods`` parameters, and the paper protocols.

Per-dataset differences live in each dataset's home package as a spec of named functions, looked up when pipelines
are built (never as ``if dataset == ...`` inside nodes), and in the catalog and parameters.
"""

from __future__ import annotations

from collections.abc import Iterable

# A (method, dataset) run that also evaluates the method under its paper's protocol, on a companion dataset named
# <ds>_paper, in the same run and MLflow run: tanogan_nab logs ours as tanogan.* and the paper's as tanogan.paper.*
# (conf/base/catalog/08_reporting_paper.yml keeps the two apart).
PAPER_PROTOCOLS: dict[tuple[str, str], str] = {("tanogan", "nab"): "nab_paper"}


def experiment_grid(datasets: Iterable[str], methods: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Every (method, dataset) pair: the methods are the keys of the ``methods`` parameters."""
    return tuple((m, ds) for ds in datasets for m in methods)
