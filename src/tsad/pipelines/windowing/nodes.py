"""Windowing nodes: a validation tail carved from training, and windowed views of each split."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from tsad.core.frames import entity_label, join_entities, source_of, split_entities
from tsad.core.windows import WindowedSeries

logger = logging.getLogger(__name__)


def split_validation(features_train: pd.DataFrame, options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split training data in time, per entity: the last ``validation_fraction`` becomes validation data.

    Validation data is normal data the detector never trains on; thresholds and early stopping use it, so
    nothing is chosen on test data.
    """
    fraction = float(options.get("validation_fraction", 0.2))
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}")
    window = int(options["window"])
    fits, vals = {}, {}
    for entity, part in split_entities(features_train).items():
        cut = len(part) - int(round(fraction * len(part)))
        if cut < window or len(part) - cut < window:
            raise ValueError(f"{entity_label(entity, 'training data')}: {len(part)} rows cannot give a fit part "
                             f"and a validation part ({fraction:.0%}) of at least one window ({window}) each")
        fits[entity], vals[entity] = part.iloc[:cut], part.iloc[cut:]
    return join_entities(fits), join_entities(vals)


def make_windows(frame: pd.DataFrame, options: dict[str, Any]) -> dict[str, WindowedSeries]:
    """Windows of ``window`` rows every ``stride`` rows per entity, as views over the float32 values.

    Returns:
        ``{entity: WindowedSeries}`` (``{"": ...}`` for a single series); windows never cross entities, nor the
        gaps left by dropped rows (``cleaning.nan_policy: drop``). The rows of a stretch between gaps shorter than a
        window are left out of the series: they are not scored, and a warning counts them.
    """
    window, stride = int(options["window"]), int(options.get("stride", 1))
    out = {}
    for entity, part in split_entities(frame).items():
        try:
            out[entity] = WindowedSeries.from_frame(part, window, stride)
        except ValueError as error:
            raise ValueError(f"{entity_label(entity, 'data')}: {error}") from error
        left_out = len(part) - out[entity].n_timestamps
        if left_out:
            logger.warning("%s: %d rows lie in stretches between dropped rows shorter than a window (%d); they get "
                           "no window and no score", entity_label(entity, source_of(part, "data")), left_out, window)
    return out


def make_fit_windows(features_fit: pd.DataFrame, options: dict[str, Any]) -> dict[str, WindowedSeries]:
    """Training windows every ``fit_stride`` rows (default: ``stride``), per entity.

    A protocol may train on overlapping windows but score validation and test data on fewer: TAnoGAN's
    (../shared/docs/methods.md §4.4) trains at stride 1 and scores non-overlapping windows (stride 60).
    """
    return make_windows(features_fit, {**options, "stride": options.get("fit_stride", options.get("stride", 1))})
