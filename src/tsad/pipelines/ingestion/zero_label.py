"""The "zero known label" protocol of the graph normalizing flows (GANF, MTGFlow, USD; ../shared/docs/methods.md
§5.2-5.5), for any dataset: one labelled file, cut in time.

The dataset's own ingest runs first; then its test split, entity by entity, becomes both splits: the first
``train_split`` of its rows are the training data (anomalies included by design, their labels dropped so that
no stage can use them) and the remaining rows the test data. The dataset's training files are not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tsad.core.frames import LABEL, join_entities, source_of, split_entities
from tsad.core.options import from_mapping
from tsad.core.stage_options import ZeroLabelOptions

OPTION = "zero_label"  # the key of data.<ds>.ingestion that asks for the protocol


def zero_label_options(ingestion: Mapping[str, Any] | None, where: str = "ingestion") -> ZeroLabelOptions | None:
    """The protocol's options from ``ingestion.zero_label``, checked, or None when the protocol is off.

    Raises:
        ValueError: An unknown or mistyped option, or a ``train_split`` outside (0, 1), naming the key.
    """
    block = (ingestion or {}).get(OPTION)
    if block is None:
        return None
    options = from_mapping(ZeroLabelOptions, block, f"{where}.{OPTION}")
    if not 0.0 < options.train_split < 1.0:
        raise ValueError(f"{where}.{OPTION}.train_split must be in (0, 1), got {options.train_split}")
    return options


def zero_label_split(raw_test: pd.DataFrame, train_split: float) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Cut each entity of ``raw_test`` in time: its first ``train_split`` of rows (without labels) and the rest.

    Returns:
        The new training frame, the new test frame, and which rows of ``raw_test`` the test frame keeps (bool,
        to cut frames on the same rows alike: SMD's per-metric labels).
    """
    source = source_of(raw_test, "test data")
    parts = split_entities(raw_test)
    cuts = {entity: int(len(part) * train_split) for entity, part in parts.items()}
    short = [e for e, cut in cuts.items() if cut == 0 or cut == len(parts[e])]
    if short:
        raise ValueError(f"{source}: ingestion.zero_label.train_split {train_split} leaves no training or no test "
                         f"row in entity {short[0]!r} ({len(parts[short[0]])} rows)")
    train = join_entities({e: part.iloc[:cuts[e]].drop(columns=LABEL, errors="ignore") for e, part in parts.items()})
    test = join_entities({e: part.iloc[cuts[e]:] for e, part in parts.items()})
    train.attrs = {**raw_test.attrs, "source": f"{source} (first {train_split:g} of each series, zero_label)"}
    test.attrs = {**raw_test.attrs, "source": f"{source} (after the first {train_split:g}, zero_label)"}
    keep = np.concatenate([np.arange(len(part)) >= cuts[e] for e, part in parts.items()])
    return train, test, keep


def apply_zero_label(outputs: Sequence[Any], options: ZeroLabelOptions) -> tuple[Any, ...]:
    """An ingest function's outputs ``(raw_train, raw_test, *extra)`` under the protocol: the splits cut from
    ``raw_test``, and each extra output on ``raw_test``'s rows (a per-row frame) cut to the new test rows."""
    raw_test, extra = outputs[1], outputs[2:]
    train, test, keep = zero_label_split(raw_test, options.train_split)
    cut = [frame.iloc[keep] if isinstance(frame, pd.DataFrame) and frame.index.equals(raw_test.index) else frame
           for frame in extra]
    return (train, test, *cut)
