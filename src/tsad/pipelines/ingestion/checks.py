"""What can be checked about a dataset's typed frames before anything is saved: the cleaning the data pipeline
will apply, and the windows it will cut.

The checks are the cleaning itself (``clean_training_series``, ``clean_test_series``) and the windowing's length
rule, run on the ingested frames, so they cannot drift from what the later nodes refuse; only their decisions'
log lines are held back (the cleaning node logs them when it runs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from tsad.core.errors import DataFormatError
from tsad.core.frames import entity_label, source_of, split_entities
from tsad.core.windows import n_windows
from tsad.pipelines.cleaning.nodes import clean_test_series, clean_training_series
from tsad.pipelines.windowing.nodes import split_validation


def check_data_pipeline_inputs(raw_train: pd.DataFrame, raw_test: pd.DataFrame, cleaning: dict[str, Any],
                               windowing: dict[str, Any]) -> None:
    """Refuse, naming the file, column and row (or the parameter to change), frames the data pipeline would refuse.

    Raises:
        DataFormatError: Schema, types, times, labels, channels or entities that differ between the splits,
            non-finite values the ``cleaning.nan_policy`` does not allow, a split too short for
            ``windowing.window`` once cleaned.
    """
    with _decisions_not_logged():
        clean_train, report = clean_training_series(raw_train, raw_test, cleaning)
        clean_test = clean_test_series(raw_test, report)
    window = int(windowing["window"])
    try:
        split_validation(clean_train, windowing)
    except ValueError as error:
        raise DataFormatError(f"{source_of(raw_train, 'training data')}: {error}; lower windowing.window or "
                              "windowing.validation_fraction, or give more training rows") from error
    for entity, part in split_entities(clean_test).items():
        if n_windows(len(part), window) == 0:
            raise DataFormatError(f"{entity_label(entity, source_of(raw_test, 'test data'))}: {len(part)} rows after "
                                  f"cleaning, fewer than "
                                  f"one window ({window}); lower windowing.window or give more test rows")


@contextmanager
def _decisions_not_logged() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("tsad.pipelines.cleaning", "tsad.core")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
