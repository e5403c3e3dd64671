"""What every threshold strategy shares: the strategy interface, its registry, the fitted threshold and the flags.

A strategy is one class registered by name with ``@strategy("name")``: its ``Options`` dataclass declares the fit
options (a field without a default must be given; ``conf/base/parameters/defaults.yml`` holds the user-facing
defaults), ``fit`` turns label-free scores into a threshold, and three hooks say how it flags, each with a default
that fits most strategies: a point is flagged when its ``decision`` score (the score itself by default) reaches the
``trace`` (the fitted value at every point by default) for ``persistence`` points in a row, and ``refine`` may then
post-process the flags (nothing by default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

FLAG_OPTIONS = ("persistence",)  # options used when flagging, never when fitting


class ThresholdError(ValueError):
    """A strategy cannot produce a threshold from these scores (the message says why and what to change)."""


@dataclasses.dataclass(frozen=True)
class FittedThreshold:
    """A threshold fitted on label-free scores, with what flagging needs.

    Attributes:
        strategy: The strategy's name.
        value: The threshold on the decision score (SPOT: the threshold at the end of the fitting scores).
        options: The strategy's options as given, ``persistence`` included.
        state: What flagging needs beyond ``value`` (SPOT: the initial threshold, the peaks and the count).
    """

    strategy: str
    value: float
    options: dict[str, Any]
    state: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Flagging:
    """Flags of a score series and how they came about.

    Attributes:
        flags: Boolean flags, shape (T,).
        decision: The score compared with the threshold (the score itself, or its EWMA for ``dynamic``).
        threshold: The threshold in force at each point, shape (T,).
    """

    flags: np.ndarray
    decision: np.ndarray
    threshold: np.ndarray


class Strategy:
    """A threshold strategy: its options, its fit on label-free scores, and how it flags (see the module docstring).

    Subclasses set ``Options`` (a frozen dataclass, which may check its values in ``__post_init__``) and implement
    ``fit``; ``decision``, ``trace`` and ``refine`` are overridden only by strategies that flag otherwise.
    """

    name: ClassVar[str]
    Options: ClassVar[type]

    def options(self, given: Mapping[str, Any]) -> Any:
        """The strategy's ``Options`` from the given fit options (``persistence`` left out).

        Raises:
            ValueError: An option the strategy does not have, a required one missing, or a value out of range.
        """
        fields = dataclasses.fields(self.Options)
        names = [field.name for field in fields]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(f"threshold strategy {self.name!r} has no option(s) {unknown}; its options: "
                             f"{names + list(FLAG_OPTIONS)}")
        missing = [field.name for field in fields if field.name not in given
                   and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING]
        if missing:
            raise ValueError(f"threshold strategy {self.name!r} needs option(s) {missing} (the threshold parameters "
                             "of conf/base/parameters/defaults.yml set them for the default strategy)")
        return self.Options(**given)

    def fit(self, scores: np.ndarray, options: Any) -> tuple[float, dict[str, Any]]:
        """The threshold of checked, finite 1-D scores, and the state flagging needs beyond it (often none)."""
        raise NotImplementedError

    def decision(self, scores: np.ndarray, options: Any) -> np.ndarray:
        """The score compared with the threshold."""
        return scores

    def trace(self, decision: np.ndarray, fitted: FittedThreshold, options: Any) -> np.ndarray:
        """The threshold in force at each point."""
        return np.full(len(decision), fitted.value)

    def refine(self, decision: np.ndarray, flags: np.ndarray, options: Any) -> np.ndarray:
        """The flags after the strategy's own post-processing (persistence is already applied)."""
        return flags


STRATEGIES: dict[str, Strategy] = {}  # name -> strategy, filled by @strategy


def strategy(name: str) -> Callable[[type[Strategy]], type[Strategy]]:
    """Register a ``Strategy`` subclass under ``name`` (the ``threshold.strategy`` parameter)."""

    def register(cls: type[Strategy]) -> type[Strategy]:
        if name in STRATEGIES:
            raise ValueError(f"threshold strategy {name!r} is registered twice")
        cls.name = name
        STRATEGIES[name] = cls()
        return cls

    return register


def get_strategy(name: str) -> Strategy:
    """The strategy registered under ``name``."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown threshold strategy {name!r}; available: {list(STRATEGIES)}")
    return STRATEGIES[name]


def persistence_of(options: Mapping[str, Any]) -> int:
    """The ``persistence`` option (1, no persistence, when not given), checked."""
    value = options.get("persistence", 1)
    if int(value) != value or value < 1:
        raise ValueError(f"persistence must be an integer >= 1, got {value!r}")
    return int(value)


def check_scores(scores: np.ndarray) -> np.ndarray:
    """Scores as a non-empty 1-D float64 array of finite values."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or len(scores) == 0:
        raise ValueError(f"the threshold needs a non-empty 1-D array of finite scores, got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"the threshold needs a non-empty array of finite scores; row "
                         f"{int(np.flatnonzero(~np.isfinite(scores))[0])} is {scores[~np.isfinite(scores)][0]}")
    return scores
