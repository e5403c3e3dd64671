"""What can run: the (method, dataset) grid over the datasets of ``tsad.datasets.registry`` and the methods of the
``methods`` parameters (evaluation protocols besides ours are parameters too: ``tsad.config.protocols``).

Per-dataset differences live in each dataset's home package as a spec of named functions, looked up when pipelines
are built (never as ``if dataset == ...`` inside nodes), and in the catalog and parameters.
"""

from __future__ import annotations

from collections.abc import Iterable


def experiment_grid(datasets: Iterable[str], methods: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Every (method, dataset) pair: the methods are the keys of the ``methods`` parameters."""
    return tuple((m, ds) for ds in datasets for m in methods)
