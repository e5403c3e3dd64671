"""Every dataset tsad can run: the built-in ones, each declared by its home package, and those declared in
configuration (``datasets.<name>.source``).

A built-in dataset's home is a package of ``tsad.datasets`` (``swat/``, ``smd/`` ...): ``files`` reads its files
as distributed, ``sources`` holds the Kedro datasets its raw catalog entries name, and ``ingest`` its ingest node
and ``SPECS``, its name(s) -> ``DatasetSpec``. ``DATASETS`` collects the ``SPECS`` of every package here, so a new
dataset is its home package, its raw catalog file (``conf/base/catalog/raw/<name>.yml``, whose entries name the
Kedro dataset by its module, ``tsad.datasets.<home>.sources.<Class>``) and its parameters file
(``conf/base/parameters/datasets/<name>.yml``), and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tsad.connectors.table.ingest import ingest_parties, ingest_table
from tsad.datasets.spec import DatasetSpec

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _builtin_datasets() -> dict[str, DatasetSpec]:
    """The ``SPECS`` of every home package, homes in name order."""
    datasets: dict[str, DatasetSpec] = {}
    for home in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not home.ispkg:
            continue
        specs = importlib.import_module(f"{__package__}.{home.name}.ingest").SPECS
        twice = sorted(set(specs) & set(datasets))
        if twice:
            raise ValueError(f"{__package__}.{home.name}.ingest.SPECS declares {twice}, already declared by another "
                             "home package")
        datasets |= specs
    return datasets


DATASETS: dict[str, DatasetSpec] = _builtin_datasets()

# A dataset declared in configuration (datasets.<name>.source: CSV or Parquet files, tsad.connectors.table).
TABLE_DATASET = DatasetSpec(ingest=ingest_table)
# One declared with parties (each party's files, aligned on their timestamps): the rows dropped go to MLflow.
PARTIES_DATASET = DatasetSpec(ingest=ingest_parties, extra_outputs=("alignment_metrics",))


def declared_datasets(sources: Mapping[str, Mapping[str, Any]]) -> dict[str, DatasetSpec]:
    """The specs of the datasets declared by a ``datasets.<name>.source`` block (``tsad.config.declared_sources``:
    name -> block).

    Raises:
        ValueError: A name of a built-in dataset (its own catalog entries would shadow the source block), or a
            name that cannot be a Kedro namespace (letters, digits and underscores, starting with a letter).
    """
    names = list(sources)
    builtin = sorted(set(names) & set(DATASETS))
    if builtin:
        raise ValueError(f"datasets.{builtin[0]}.source: {builtin} are built-in datasets with their own readers; "
                         "declare your files under another name")
    bad = [n for n in names if not _NAME.fullmatch(n)]
    if bad:
        raise ValueError(f"datasets.{bad[0]}.source: a dataset name is letters, digits and underscores, starting with "
                         f"a letter; got {bad}")
    return {name: PARTIES_DATASET if source.get("parties") else TABLE_DATASET for name, source in sources.items()}
