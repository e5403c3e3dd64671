"""The MLflow tracking store shared by runs at once in one project (the default SQLite file, ``mlflow.db``).

Two things break concurrent runs on a SQLite store: a writer that waits longer than SQLite's busy timeout for
another's transaction fails with "database is locked" (pysqlite waits 5 s by default; ``with_busy_timeout`` makes it
a minute), and two runs that find the store (or its experiment) missing both create it, and one of them fails
("duplicate column name", "experiment already exists"). ``TrackingStoreHook`` has the first run create them while
the others wait. Many parallel runs (a benchmark grid) are better served by ``mlflow server --host 127.0.0.1``.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import mlflow
from filelock import FileLock
from kedro.framework.hooks import hook_impl
from kedro_mlflow.config.kedro_mlflow_config import KedroMlflowConfig

SQLITE_BUSY_TIMEOUT_S = 60


def with_busy_timeout(uri: str | None) -> str | None:
    """A SQLite tracking URI with a busy timeout of ``SQLITE_BUSY_TIMEOUT_S`` seconds, unless it sets one; any other
    URI unchanged (the ``tsad.sqlite_busy_timeout`` resolver of ``conf/base/mlflow.yml``)."""
    if not uri or not uri.startswith("sqlite:") or "timeout" in parse_qs(urlsplit(uri).query):
        return uri
    return f"{uri}{'&' if '?' in uri else '?'}timeout={SQLITE_BUSY_TIMEOUT_S}"


def store_lock_path(uri: str) -> Path:
    """The file whose lock serialises the store's creation: beside a SQLite file (every process using it sees
    it), else in the temporary folder, one per URI (the runs of one machine)."""
    if uri.startswith("sqlite:"):
        database = urlsplit(uri).path.removeprefix("/")  # sqlite:///relative.db, sqlite:////absolute.db
        if database and database != ":memory:":
            return Path(f"{database}.lock")
    digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"tsad-mlflow-{digest}.lock"


class TrackingStoreHook:
    """Runs kedro-mlflow's setup of the store (its tables, the experiment) under the store's lock, before
    kedro-mlflow's own hook repeats it, so that runs started at once never both create them."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        if mlflow.active_run() is not None:  # kedro-mlflow then uses the active run's store as it is
            return
        config = KedroMlflowConfig.model_validate(dict(context.config_loader["mlflow"]))
        config.tracking.experiment.name = config.tracking.experiment.name or context._package_name
        uri = config.server.mlflow_tracking_uri or mlflow.get_tracking_uri()
        lock = store_lock_path(uri)
        lock.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(lock):
            config.setup(context)
