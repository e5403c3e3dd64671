"""Min-max and z-score scaling whose statistics come from training data only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsad.core.frames import channel_columns


def fit_scaler(train: pd.DataFrame, method: str = "minmax") -> dict:
    """Scaling statistics of the training channels.

    Args:
        train: Training frame; the only data the statistics may see.
        method: ``"minmax"`` maps the training range to [0, 1]; ``"zscore"`` to mean 0, std 1.

    Returns:
        ``{"method", "columns", "offset", "scale"}`` with plain lists, so it serialises to JSON; scaled =
        (x - offset) / scale. A constant training channel gets scale 1.
    """
    values = train[channel_columns(train)].to_numpy(dtype=np.float64)
    if method == "minmax":
        offset, span = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
    elif method == "zscore":
        offset, span = values.mean(axis=0), values.std(axis=0)
    else:
        raise ValueError(f"unknown scaling method {method!r}; use 'minmax' or 'zscore'")
    scale = np.where(span > 0, span, 1.0)
    return {"method": method, "columns": channel_columns(train), "offset": offset.tolist(), "scale": scale.tolist()}


def apply_scaler(frame: pd.DataFrame, scaler: dict) -> pd.DataFrame:
    """Scale the channels named by the scaler (float32); other columns, such as the label, are kept."""
    columns = scaler["columns"]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks the scaled columns {missing}")
    scaled = frame[columns].to_numpy(dtype=np.float64, copy=True)
    scaled -= np.asarray(scaler["offset"])  # in place: no temporaries the size of the frame
    scaled /= np.asarray(scaler["scale"])
    out = pd.DataFrame(scaled.astype(np.float32), columns=columns, index=frame.index, copy=False)
    for column in frame.columns.difference(columns, sort=False):
        out[column] = frame[column].to_numpy()
    return out
