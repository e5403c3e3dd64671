"""Windowing nodes: a validation tail carved from training, and windowed views of each split."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tsad.core.windows import WindowedSeries


def split_validation(features_train: pd.DataFrame, options: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split training data in time: the last ``validation_fraction`` becomes validation data.

    Validation data is normal data the detector never trains on; thresholds and early stopping use it, so
    nothing is chosen on test data.
    """
    fraction = float(options.get("validation_fraction", 0.2))
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}")
    cut = len(features_train) - int(round(fraction * len(features_train)))
    window = int(options["window"])
    if cut < window or len(features_train) - cut < window:
        raise ValueError(f"{len(features_train)} training rows cannot give a fit part and a validation part "
                         f"({fraction:.0%}) of at least one window ({window}) each")
    return features_train.iloc[:cut].copy(), features_train.iloc[cut:].copy()


def make_windows(frame: pd.DataFrame, options: dict[str, Any]) -> WindowedSeries:
    """Windows of ``window`` rows every ``stride`` rows, as a view over the split's float32 values."""
    return WindowedSeries.from_frame(frame, int(options["window"]), int(options.get("stride", 1)))
