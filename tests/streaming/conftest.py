from __future__ import annotations

import pytest

from .helpers import single_series_bundle


@pytest.fixture(scope="package")
def single():
    """PCA's model bundle on a synthetic series and the test rows a model receives (shared by the package)."""
    return single_series_bundle()
