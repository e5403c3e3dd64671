"""Errors raised on bad input, and the helper that finds the row to name in them."""

from __future__ import annotations

import numpy as np


class DataFormatError(ValueError):
    """A file or frame is not what the configuration says it is; the message names file, column and row."""


def first_bad_row(mask: np.ndarray) -> int | None:
    """Index of the first True in a boolean mask, or None when all are False."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None
