"""Attack machinery the plant simulators share: scenarios, their placement on the clock and sensor spoofing.

A simulator describes its attack list as ``Template`` scenarios, each building ``Manipulation`` s of tags.
``file_gap`` places the attack file on the simulation clock, ``schedule`` draws durations and start rows
for the chosen scenarios, ``plan_attack`` materialises one into a ``PlannedAttack`` (per-second sensor
overrides, and actuator forces in the simulator's own form), ``loop_overrides`` hands the spoofs to a
control loop, ``apply_overrides`` turns measured values into reported ones, and ``attack_mask`` and
``attack_table`` label and list the attacks. What differs between plants (which scenarios, in what order,
how a force acts, which sensors the loop reads) stays in each simulator.

Every function draws from the simulator's generator in a fixed order, so a seed still fixes the output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

ForceT = TypeVar("ForceT")  # how a simulator holds a forced tag: a state per second, or one value

# Per second of the attack window: reported = gain * measured[source step] + offset.
SensorOverride = tuple[np.ndarray, np.ndarray, np.ndarray]
# The same as plain lists for a second-by-second loop, with the sensor's reading slot: (slot, gain, offset, source).
LoopOverride = tuple[int, list[float], list[float], list[int]]


@dataclass(frozen=True)
class Manipulation:
    """What an attacker does to one tag.

    Sensor modes: ``constant`` (report ``value``), ``offset`` (add ``value``), ``ramp`` (add ``value`` per
    second), ``noise`` (add noise of std ``value``), ``replay`` (report the reading of ``value`` seconds
    earlier) and ``freeze`` (report the last reading before the attack). Other modes act on actuators or
    set points (``force`` holds the tag at ``value``); each simulator says which it knows.
    """

    tag: str
    mode: str
    value: float = 0.0


# What a scenario's builder returns: the manipulations and the attack list's description of them.
Scenario = tuple[tuple[Manipulation, ...], str]


def constant(tag: str, value: float) -> Manipulation:
    """Report ``value`` on sensor ``tag``."""
    return Manipulation(tag, "constant", value)


def force(tag: str, value: float) -> Manipulation:
    """Hold actuator or set point ``tag`` at ``value``."""
    return Manipulation(tag, "force", value)


@dataclass(frozen=True)
class Template:
    """One scenario of an attack list; ``build(rng, duration)`` returns its manipulations and description."""

    kind: str
    intent: str
    min_s: int  # duration range at the real dataset's scale; rescaled to the preset's attack budget
    max_s: int
    build: Callable[[np.random.Generator, int], Scenario]


@dataclass
class PlannedAttack(Generic[ForceT]):
    """An attack placed on the simulation clock, with its manipulations materialised over the window."""

    template: Template
    start: int  # loop step of the first attack row
    duration: int
    description: str
    manipulations: tuple[Manipulation, ...]
    sensors: dict[str, SensorOverride] = field(default_factory=dict)
    forces: dict[str, ForceT] = field(default_factory=dict)  # actuator or set point -> what it is forced to

    @property
    def window(self) -> slice:
        """The loop steps of the attack rows."""
        return slice(self.start, self.start + self.duration)

    @property
    def tags(self) -> list[str]:
        """The attacked tags in the order the scenario names them, each once."""
        return list(dict.fromkeys(m.tag for m in self.manipulations))


def file_gap(normal_start: pd.Timestamp, n_normal: int, attack_start: pd.Timestamp, max_gap_s: int) -> int:
    """Unrecorded seconds to simulate between the normal file's last row and the attack file's first.

    The real files are days apart; the plant runs on through at most ``max_gap_s`` of that time, so the
    attack file starts from a running plant without simulating the days in between.
    """
    normal_end = normal_start + pd.Timedelta(seconds=n_normal)
    return int(min(max((attack_start - normal_end).total_seconds(), 0), max_gap_s))


def schedule(rng: np.random.Generator, chosen: Sequence[Template], n_attack: int, attack_fraction: float, *,
             min_duration: int, recovery_share: float) -> list[tuple[int, int]]:
    """Draw each chosen scenario's duration and place the attacks in the attack file.

    Durations are log-uniform in each scenario's range, rescaled so that they cover ``attack_fraction`` of
    the ``n_attack`` rows (at least ``min_duration`` each). Before the first attack there is a lead-in, after
    each attack ``recovery_share`` of its duration for its effects to fade, and the rest is spread at random.

    Returns:
        ``(start row, duration)`` of each attack, in the order of ``chosen``.

    Raises:
        ValueError: The rows cannot hold the attacks with their recovery times.
    """
    raw = np.exp([rng.uniform(math.log(t.min_s), math.log(t.max_s)) for t in chosen])
    budget = attack_fraction * n_attack
    durations = np.maximum(np.round(raw * budget / raw.sum()), min_duration).astype(int)
    lead = int(0.03 * n_attack)
    recovery = np.ceil(recovery_share * durations).astype(int)
    spare = n_attack - int(durations.sum()) - lead - int(recovery.sum())
    if spare < 0:
        raise ValueError(f"n_attack={n_attack} rows cannot hold {len(chosen)} attacks on {attack_fraction:.0%} of rows")
    extra = np.floor(rng.dirichlet(np.full(len(chosen) + 1, 2.0)) * spare).astype(int)
    placed = []
    position = lead + int(extra[0])
    for i, duration in enumerate(durations):
        placed.append((position, int(duration)))
        position += int(duration) + int(recovery[i]) + int(extra[i + 1])
    return placed


def plan_attack(rng: np.random.Generator, template: Template, start: int, duration: int, *,
                forced: Callable[[Manipulation, np.ndarray], ForceT], force_modes: Collection[str],
                no_history: Collection[str]) -> PlannedAttack[ForceT]:
    """Build one scenario and materialise its manipulations over the window from loop step ``start``.

    Args:
        rng: The simulator's generator (the scenario's builder and noise draw from it, in that order).
        template: The scenario.
        start: Loop step of the first attack row.
        duration: Attack rows.
        forced: What a manipulation in ``force_modes`` holds its tag at, given the window's seconds.
        force_modes: Modes the simulator forces rather than spoofs.
        no_history: Sensors its control loop reads without keeping their past, so they cannot be replayed
            or frozen.

    Returns:
        The planned attack.

    Raises:
        ValueError: An unknown mode, or a replayed or frozen sensor in ``no_history``.
    """
    manipulations, description = template.build(rng, duration)
    attack: PlannedAttack[ForceT] = PlannedAttack(template, start, duration, description, manipulations)
    seconds = np.arange(duration)
    for m in manipulations:
        if m.mode in force_modes:
            attack.forces[m.tag] = forced(m, seconds)
            continue
        if m.tag in no_history and m.mode in {"replay", "freeze"}:
            raise ValueError(f"{m.tag} cannot be replayed or frozen inside the control loop")
        attack.sensors[m.tag] = sensor_override(rng, m, start, duration)
    return attack


def sensor_override(rng: np.random.Generator, m: Manipulation, start: int, duration: int) -> SensorOverride:
    """Gain, offset and source step per second that make sensor ``m.tag`` report what ``m`` says.

    Raises:
        ValueError: ``m.mode`` is not a sensor mode of ``Manipulation``.
    """
    seconds = np.arange(duration)
    steps = start + seconds
    gain, offset, source = np.ones(duration), np.zeros(duration), steps.copy()
    if m.mode == "constant":
        gain[:] = 0.0
        offset[:] = m.value
    elif m.mode == "offset":
        offset[:] = m.value
    elif m.mode == "ramp":
        offset = m.value * (seconds + 1.0)
    elif m.mode == "noise":
        offset = rng.normal(0.0, m.value, duration)
    elif m.mode == "replay":
        source = steps - int(m.value)
    elif m.mode == "freeze":
        source[:] = start - 1
    else:
        raise ValueError(f"unknown manipulation mode {m.mode!r}")
    return gain, offset, source


def loop_overrides(plan: Sequence[PlannedAttack], n_steps: int,
                   sensors: Sequence[str]) -> tuple[np.ndarray, list[int], list[list[LoopOverride]]]:
    """The sensor overrides a control loop applies, in the plain lists a second-by-second loop reads fast.

    Args:
        plan: The planned attacks.
        n_steps: Loop steps.
        sensors: The sensors the loop reads, in the order of its reading slots.

    Returns:
        Per step, the index of the running attack or -1 (int64); per attack, its first step and the
        overrides of its spoofed sensors that the loop reads.
    """
    active = np.full(n_steps, -1, dtype=np.int64)
    starts: list[int] = []
    overrides: list[list[LoopOverride]] = []
    for k, attack in enumerate(plan):
        active[attack.window] = k
        starts.append(attack.start)
        overrides.append([(sensors.index(tag), g.tolist(), o.tolist(), s.tolist())
                          for tag, (g, o, s) in attack.sensors.items() if tag in sensors])
    return active, starts, overrides


def apply_overrides(tag: str, measured: np.ndarray, plan: Sequence[PlannedAttack]) -> np.ndarray:
    """What the tag reports: the measured values with every attack's spoof of that tag applied.

    Returns ``measured`` itself when no attack spoofs the tag, a new array otherwise. Replays and freezes
    read the measured values, never an earlier spoof.
    """
    reported = measured
    for attack in plan:
        if tag in attack.sensors:
            if reported is measured:
                reported = measured.copy()
            gain, offset, source = attack.sensors[tag]
            reported[attack.window] = gain * measured[source] + offset
    return reported


def attack_mask(plan: Sequence[PlannedAttack], attack_offset: int, n_attack: int) -> np.ndarray:
    """Per row of the attack file (which starts at loop step ``attack_offset``): whether it is under attack."""
    mask = np.zeros(n_attack, dtype=bool)
    for attack in plan:
        mask[attack.start - attack_offset: attack.start - attack_offset + attack.duration] = True
    return mask


def attack_table(plan: Sequence[PlannedAttack], attack_offset: int, attack_start: pd.Timestamp, *,
                 point_name: Callable[[str], str] = str,
                 stages: Mapping[str, Collection[str]] | None = None) -> pd.DataFrame:
    """One row per attack: ``number``, ``kind``, ``start``, ``end``, ``points``, [``stages``,] ``description``,
    ``intent``, ``start_row``, ``end_row`` and ``duration_s``.

    Args:
        plan: The planned attacks.
        attack_offset: Loop step of the attack file's first row.
        attack_start: Timestamp of the attack file's first row.
        point_name: How the attack list writes a tag among the ``points``.
        stages: Stage -> its tags; when given, ``stages`` lists the stages of the attacked tags.
    """
    rows = []
    for number, attack in enumerate(plan, start=1):
        start_row = attack.start - attack_offset
        tags = attack.tags
        row: dict[str, object] = {
            "number": number,
            "kind": attack.template.kind,
            "start": attack_start + pd.Timedelta(seconds=start_row),
            "end": attack_start + pd.Timedelta(seconds=start_row + attack.duration - 1),
            "points": ", ".join(point_name(t) for t in tags),
        }
        if stages is not None:
            row["stages"] = ", ".join(sorted({stage for stage, stage_tags in stages.items()
                                              for t in tags if t in stage_tags}))
        rows.append({
            **row,
            "description": attack.description,
            "intent": attack.template.intent,
            "start_row": start_row,
            "end_row": start_row + attack.duration - 1,
            "duration_s": attack.duration,
        })
    return pd.DataFrame(rows)
