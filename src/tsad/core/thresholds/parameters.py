"""The ``threshold`` parameters checked without fitting (the configuration loader does it before any node runs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tsad.core.thresholds.base import FLAG_OPTIONS, STRATEGIES, get_strategy, persistence_of
from tsad.core.thresholds.channels import combine_rule


def check_options(threshold: Mapping[str, Any]) -> None:
    """Check the ``threshold`` parameters without fitting: a registered strategy, its options, ``persistence`` and a
    ``per_channel`` rule (``{combine: any | k_of_f, k}``).

    Raises:
        ValueError: What is wrong, named.
    """
    options = dict(threshold)
    name = options.pop("strategy", None)
    if name is None:
        raise ValueError(f"threshold: no strategy (one of {list(STRATEGIES)}), got {sorted(options)}")
    rule = get_strategy(name)
    persistence_of(options)
    per_channel = options.pop("per_channel", None)
    if per_channel:
        if not isinstance(per_channel, Mapping) or set(per_channel) - {"combine", "k"}:
            raise ValueError(f"threshold.per_channel must be {{combine: any | k_of_f, k}}, got {per_channel!r}")
        combine_rule(**per_channel)
    rule.options({k: v for k, v in options.items() if k not in FLAG_OPTIONS})
