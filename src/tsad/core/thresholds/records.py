"""Thresholds as JSON-ready records: one record per run holds the strategy, its options and every entity's fit."""

from __future__ import annotations

from typing import Any

from tsad.core.thresholds.base import FittedThreshold
from tsad.core.thresholds.channels import ChannelThreshold, combine_rule


def to_record(fitted: dict[str, FittedThreshold] | dict[str, ChannelThreshold]) -> dict[str, Any]:
    """One JSON-ready record for the thresholds of every entity (one strategy and its options).

    ``{"strategy", **options, "values": {entity: value}}`` and, for SPOT, ``"state": {entity: state}``; the
    entity of a single series is ``""``. Flag with ``apply(scores, from_record(record, entity))``.
    Per-channel thresholds add ``"per_channel": {"combine", "k"}`` and hold ``{channel: value}`` (and
    ``{channel: state}``) per entity; flag with ``apply_channels``.
    """
    first = next(iter(fitted.values()))
    if isinstance(first, ChannelThreshold):
        record = {"strategy": first.strategy, **first.options, "per_channel": {"combine": first.combine, "k": first.k},
                  "values": {entity: f.values for entity, f in fitted.items()}}
        if any(c.state for f in fitted.values() for c in f.fitted):
            record["state"] = {entity: {name: c.state for name, c in zip(f.channels, f.fitted, strict=True)}
                               for entity, f in fitted.items()}
        return record
    record: dict[str, Any] = {"strategy": first.strategy, **first.options,
                              "values": {entity: f.value for entity, f in fitted.items()}}
    if any(f.state for f in fitted.values()):
        record["state"] = {entity: f.state for entity, f in fitted.items()}
    return record


def from_record(record: dict[str, Any], entity: str) -> FittedThreshold | ChannelThreshold:
    """The fitted threshold of one entity from a ``to_record`` record (a ``ChannelThreshold`` when per channel)."""
    if entity not in record["values"]:
        raise KeyError(f"the threshold record has no entity {entity!r}; it has {sorted(record['values'])}")
    if record.get("per_channel"):
        options = {k: v for k, v in record.items() if k not in ("strategy", "values", "state", "per_channel")}
        values, states = record["values"][entity], record.get("state", {}).get(entity, {})
        combine, k = combine_rule(record["per_channel"].get("combine", "any"), record["per_channel"].get("k"))
        return ChannelThreshold(tuple(values), tuple(FittedThreshold(record["strategy"], float(v), options,
                                                                     dict(states.get(name, {})))
                                                     for name, v in values.items()), combine, k)
    options = {k: v for k, v in record.items() if k not in ("strategy", "values", "state")}
    return FittedThreshold(record["strategy"], float(record["values"][entity]), options,
                           dict(record.get("state", {}).get(entity, {})))


def entity_threshold(record: dict[str, Any], entity: str) -> FittedThreshold | ChannelThreshold | None:
    """``from_record``, or None when the record holds no threshold for the entity (the evaluation's random control
    leaves an entity without one when the strategy finds none in its scores)."""
    if record["values"].get(entity) is None:
        return None
    return from_record(record, entity)
