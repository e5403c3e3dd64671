"""The SQLite tracking store under runs at once: a busy timeout in its URI, and the lock of its creation."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tsad.tracking_store import SQLITE_BUSY_TIMEOUT_S, store_lock_path, with_busy_timeout


@pytest.mark.parametrize(("uri", "expected"), [
    ("sqlite:///mlflow.db", f"sqlite:///mlflow.db?timeout={SQLITE_BUSY_TIMEOUT_S}"),
    ("sqlite:////tmp/a/mlflow.db?mode=rw", f"sqlite:////tmp/a/mlflow.db?mode=rw&timeout={SQLITE_BUSY_TIMEOUT_S}"),
    ("sqlite:///mlflow.db?timeout=5", "sqlite:///mlflow.db?timeout=5"),  # the user's own
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("postgresql://u@host/db", "postgresql://u@host/db"),
])
def test_only_a_sqlite_uri_without_a_timeout_gets_one(uri, expected):
    assert with_busy_timeout(uri) == expected


def test_the_lock_lies_beside_a_sqlite_file_else_in_the_temporary_folder():
    assert store_lock_path("sqlite:///mlflow.db?timeout=60") == Path("mlflow.db.lock")
    assert store_lock_path("sqlite:////tmp/a/mlflow.db") == Path("/tmp/a/mlflow.db.lock")
    server = store_lock_path("http://127.0.0.1:5000")
    assert server.parent == Path(tempfile.gettempdir()) and server != store_lock_path("http://127.0.0.1:5001")
