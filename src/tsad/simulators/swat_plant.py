"""Simulator of the SWaT water-treatment testbed (iTrust, SUTD) that writes data in SWaT's exact format.

SWaT itself is released only on request, so the project trains and tests on a stand-in with the same 51
tags, units, actuator encodings, 1 s sampling, file start times and labels. The tags are physically coupled:

- P1: MV101 fills tank T101 (LIT101) with FIT101; P101 (duty) or P102 (standby) moves water on (FIT201).
- P2: dosing pumps P201-P206 run with the transfer and move conductivity, pH and ORP (AIT201-203).
- P3: T301 (LIT301) feeds the ultrafiltration unit through P302 (FIT301); the membrane fouls (DPIT301)
  and is backwashed every 30 min of filtration, sequencing MV301-MV304 and the backwash pump P602 (FIT601).
- P4: T401 (LIT401) feeds the RO train through P402 (FIT401), the UV dechlorinator UV401 and P403 dosing.
- P5: P501 drives the reverse-osmosis unit (FIT501-504, PIT501-503, analysers AIT501-504).

A PLC loop with SWaT's set points and hysteresis runs once per second on the *reported* sensor values, so a
spoofed sensor makes the controller act wrongly and the physical consequences show in the other tags. Only
that loop is sequential; noise, drifts and every derived tag are computed vectorised around it.

The attack file carries labelled attacks modelled on SWaT's ``List_of_attacks_Final``: sensor spoofing
(constant, offset, stealthy ramp, frozen, replayed, noisy readings), actuator forcing (single, swapped and
toggled pumps and valves), and multi-point and multi-stage combinations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsad.datasets.swat.files import SWAT_ACTUATORS, SWAT_STAGES, SWAT_TAGS
from tsad.simulators.attacks import (
    Manipulation,
    PlannedAttack,
    Scenario,
    Template,
    apply_overrides,
    attack_mask,
    attack_table,
    constant,
    file_gap,
    force,
    loop_overrides,
    plan_attack,
    schedule,
)
from tsad.simulators.signals import first_order_lag, idle_flow, ou_drift, transport_delay

IDLE_FLOW = 1e-4  # idle flow meters read at least 1e-4 m³/h, so the CSV holds no scientific notation

__all__ = ["ATTACK_START", "NORMAL_START", "PRESETS", "SimulatedPlant", "simulate_preset", "simulate_swat_plant"]

# First rows of the December 2015 release.
NORMAL_START = pd.Timestamp("2015-12-22 16:00:00")
ATTACK_START = pd.Timestamp("2015-12-28 10:00:00")

PRESETS: dict[str, dict] = {
    # SWaT scale: Normal_v1 and Attack_v0 row counts, 36 attacks on ~12 % of the attack rows.
    "full": {"n_normal": 495_000, "n_attack": 449_919, "n_attacks": 36, "attack_fraction": 0.1214},
    # What the README demo trains and scores on: 8 h of each file.
    "default": {"n_normal": 28_800, "n_attack": 28_800, "n_attacks": 14, "attack_fraction": 0.12},
    # Unit tests: 50 min of each file.
    "tiny": {"n_normal": 3_000, "n_attack": 3_000, "n_attacks": 5, "attack_fraction": 0.12},
}

# Actuator encodings of the SWaT files.
PUMP_OFF, PUMP_ON = 1, 2
VALVE_MOVING, VALVE_CLOSED, VALVE_OPEN = 0, 1, 2

NORMAL_LABEL, ATTACK_LABEL, TYPO_LABEL = "Normal", "Attack", "A ttack"

# Unrecorded seconds simulated before the normal file, so that it starts mid-cycle rather than from the
# initial state, and at most this many between the two files (the real v1 normal file ends 30 min early).
WARMUP_S = 3_600
MAX_GAP_S = 1_800

# Tank geometry: level change in mm per second for a net flow of 1 m3/h (0.278 mm/s over 1 m2).
T101_MM_PER_M3H_S = 0.20
T301_MM_PER_M3H_S = 0.20
T401_MM_PER_M3H_S = 0.25
TANK_OVERFLOW_MM = 1_100.0
PUMP_SUCTION_MIN_MM = 5.0  # below this a pump sucks air and moves no water

# PLC set points (mm), each a pair with hysteresis.
LIT101_OPEN_BELOW, LIT101_CLOSE_ABOVE = 500.0, 800.0
LIT101_LL, LIT101_LL_RESET = 250.0, 300.0
LIT301_L, LIT301_H = 800.0, 1_000.0
LIT301_LL, LIT301_LL_RESET = 250.0, 300.0
LIT401_L, LIT401_H = 800.0, 1_000.0
LIT401_LL, LIT401_LL_RESET = 250.0, 350.0

# Nominal flows (m3/h); two transfer pumps in parallel deliver less than twice one.
FIT101_NOMINAL = 2.55
FIT201_NOMINAL = 2.42
TWO_PUMP_GAIN = 1.35
FIT301_NOMINAL = 2.22
FIT401_NOMINAL = 1.71

VALVE_TRAVEL_S = 5

# UF backwash: started after this much filtration or when DPIT301 reads above the limit; the sequence
# closes MV302 and opens MV301/MV303 (travel), runs P602, drains through MV304, then reopens MV302.
BACKWASH_AFTER_FILTRATION_S = 1_800
BACKWASH_DP_KPA = 40.0
BACKWASH_LOCKOUT_S = 20
BW_PUMP_START, BW_PUMP_STOP = VALVE_TRAVEL_S, 65
BW_DRAIN_START, BW_DRAIN_STOP = BW_PUMP_STOP + VALVE_TRAVEL_S, 100
BACKWASH_S = BW_DRAIN_STOP + VALVE_TRAVEL_S

# UF membrane: DPIT301 = idle + flow share * (clean filter + fouling); fouling grows with filtered water,
# backwash removes all but an irreversible part.
DP_IDLE_KPA = 2.3
DP_CLEAN_FILTER_KPA = 16.8
DP_BACKWASH_KPA = 5.5
FOULING_KPA_PER_M3H_S = 0.0011
IRREVERSIBLE_KPA_PER_M3H_S = 2e-6
BACKWASH_CLEAN_DECAY = 0.92

# RO train protection: UV401 trips when FIT401 reads no flow after the start-up grace time.
UV_TRIP_FLOW = 0.5
UV_TRIP_GRACE_S = 15
UV_TRIP_HOLD_S = 120

DOSING_ROTATION_S = 4 * 3_600  # duty/standby swap of the acid and hypochlorite pump pairs
PH_LOW_INTERLOCK = 7.0  # acid dosing stops when AIT202 reads below this

# Sensors and actuators the sequential loop reads or drives; everything else is derived after it.
_LOOP_SENSORS = ("LIT101", "LIT301", "LIT401", "DPIT301", "FIT401")
_LOOP_ACTUATORS = ("MV101", "P101", "P102", "MV201", "P302", "UV401", "P501", "MV303")
_LEVEL_SLOTS = 3  # the first three loop sensors keep a history, so they can be replayed or frozen

# Attacks hold a forced or toggled actuator in a state per second of their window.
_Plan = list[PlannedAttack[np.ndarray]]


@dataclass(frozen=True)
class SimulatedPlant:
    """The two SWaT physical-layer files and the attack list.

    Attributes:
        normal: 1 s DatetimeIndex ``timestamp`` from 22/12/2015 4:00:00 PM, the 51 ``SWAT_TAGS`` as float64
            (actuators hold their integer states) and ``label`` text, all ``"Normal"``.
        attack: Same layout from 28/12/2015 10:00:00 AM; ``label`` is ``"Normal"``, ``"Attack"`` or, on a
            few rows inside one attack, the release's typo ``"A ttack"``.
        attacks: One row per attack: ``number``, ``kind``, ``start`` and ``end`` (timestamps of the first
            and last attack rows), ``points`` (``"LIT-101, P-101"``), ``stages``, ``description``,
            ``intent`` (the intended effect), ``start_row`` and ``end_row`` (positions in ``attack``,
            inclusive) and ``duration_s``.
    """

    normal: pd.DataFrame
    attack: pd.DataFrame
    attacks: pd.DataFrame


def _templates() -> tuple[Template, ...]:
    """The scenarios, modelled on SWaT's ``List_of_attacks_Final`` (durations in seconds at SWaT scale)."""

    def mv101_open(rng: np.random.Generator, n: int) -> Scenario:
        return (force("MV101", VALVE_OPEN),), "Open MV-101 (forced)"

    def p102_start(rng: np.random.Generator, n: int) -> Scenario:
        return (force("P102", PUMP_ON),), "Turn on P-102 (standby transfer pump)"

    def lit101_ramp(rng: np.random.Generator, n: int) -> Scenario:
        rate = round(float(rng.uniform(0.8, 1.2)), 2)
        return (Manipulation("LIT101", "ramp", rate),), f"Increase LIT-101 by {rate} mm every second"

    def ait202_six(rng: np.random.Generator, n: int) -> Scenario:
        return (constant("AIT202", 6.0),), "Set value of AIT-202 as 6"

    def lit301_above_hh(rng: np.random.Generator, n: int) -> Scenario:
        level = round(float(rng.uniform(1_060, 1_095)), 1)
        return (constant("LIT301", level),), f"Set value of LIT-301 above HH ({level} mm)"

    def dpit301_high(rng: np.random.Generator, n: int) -> Scenario:
        dp = round(float(rng.uniform(40.5, 45.0)), 2)
        return (constant("DPIT301", dp),), f"Set value of DPIT-301 > 40 kPa ({dp})"

    def fit401_zero(rng: np.random.Generator, n: int) -> Scenario:
        return (constant("FIT401", 0.0),), "Set value of FIT-401 as 0"

    def mv303_close(rng: np.random.Generator, n: int) -> Scenario:
        return (force("MV303", VALVE_CLOSED),), "Close MV-303 (forced)"

    def ait504_raise(rng: np.random.Generator, n: int) -> Scenario:
        bias = round(float(rng.uniform(3.0, 6.0)), 1)
        return (Manipulation("AIT504", "offset", bias),), f"Raise AIT-504 by {bias} uS/cm"

    def p101_lit101(rng: np.random.Generator, n: int) -> Scenario:
        return ((force("P101", PUMP_ON), force("MV201", VALVE_OPEN), constant("LIT101", 700.0)),
                "Keep P-101 on and MV-201 open; set value of LIT-101 as 700 mm")

    def uv401_ait502_p501(rng: np.random.Generator, n: int) -> Scenario:
        orp = round(float(rng.uniform(140.0, 150.0)), 1)
        return ((force("UV401", PUMP_OFF), constant("AIT502", orp), force("P501", PUMP_ON)),
                f"Stop UV-401; set value of AIT-502 as {orp}; keep P-501 on")

    def pump_swap(rng: np.random.Generator, n: int) -> Scenario:
        return (force("P101", PUMP_OFF), force("P102", PUMP_ON)), "Turn P-101 off and P-102 on"

    def lit401_low(rng: np.random.Generator, n: int) -> Scenario:
        level = round(float(rng.uniform(600, 700)), 1)
        return (constant("LIT401", level),), f"Set value of LIT-401 as {level} mm"

    def lit101_replay(rng: np.random.Generator, n: int) -> Scenario:
        lag = int(n * rng.uniform(1.2, 2.0))
        return (Manipulation("LIT101", "replay", lag),), f"Replay LIT-101 readings from {lag} s earlier"

    def fit101_replay(rng: np.random.Generator, n: int) -> Scenario:
        lag = int(n * rng.uniform(1.2, 2.0))
        return (Manipulation("FIT101", "replay", lag),), f"Replay FIT-101 readings from {lag} s earlier"

    def lit401_noise(rng: np.random.Generator, n: int) -> Scenario:
        std = round(float(rng.uniform(25.0, 45.0)), 1)
        return (Manipulation("LIT401", "noise", std),), f"Inject noise of {std} mm into LIT-401"

    def lit301_freeze(rng: np.random.Generator, n: int) -> Scenario:
        return (Manipulation("LIT301", "freeze"),), "Freeze LIT-301 at its last reading"

    def p302_toggle(rng: np.random.Generator, n: int) -> Scenario:
        period = int(rng.integers(10, 31))
        return (Manipulation("P302", "toggle", period),), f"Toggle P-302 every {period} s"

    def lit301_lit401(rng: np.random.Generator, n: int) -> Scenario:
        low, high = round(float(rng.uniform(120, 200)), 1), round(float(rng.uniform(1_060, 1_095)), 1)
        return ((constant("LIT301", low), constant("LIT401", high)),
                f"Set value of LIT-301 as {low} mm (below LL) and LIT-401 as {high} mm (above HH)")

    def dosing_stop(rng: np.random.Generator, n: int) -> Scenario:
        return (tuple(force(p, PUMP_OFF) for p in ("P203", "P204", "P205", "P206")),
                "Turn off the acid and hypochlorite dosing pumps P-203 to P-206")

    return (
        Template("actuator_force", "Tank T101 overflow", 900, 2_400, mv101_open),
        Template("actuator_force", "Pipe burst: extra transfer flow into T301", 300, 1_200, p102_start),
        Template("stealth_ramp", "Tank T101 underflow; damage P-101", 300, 900, lit101_ramp),
        Template("sensor_constant", "P-203 stops dosing acid; water quality changes", 300, 1_200, ait202_six),
        Template("sensor_constant", "P-101 stops; tank T301 underflow; damage P-302", 600, 1_800,
                 lit301_above_hh),
        Template("sensor_constant", "Backwash started again and again; normal operation stops", 300, 1_200,
                 dpit301_high),
        Template("sensor_constant", "UV-401 shuts down and P-501 stops", 300, 1_200, fit401_zero),
        Template("actuator_force", "Halt the UF backwash", 600, 2_400, mv303_close),
        Template("sensor_offset", "RO permeate reported off-spec", 300, 1_200, ait504_raise),
        Template("multi_point", "Tank T101 underflow; tank T301 overflow", 600, 1_800, p101_lit101),
        Template("multi_stage", "Chlorinated water reaches the RO membrane", 300, 1_200, uv401_ait502_p501),
        Template("actuator_swap", "Hidden switch to the standby transfer pump", 300, 1_200, pump_swap),
        Template("sensor_constant", "P-302 keeps filling; tank T401 overflow", 600, 1_800, lit401_low),
        Template("replay", "T101 inlet controlled on stale readings; overflow or underflow hidden", 600, 1_800,
                 lit101_replay),
        Template("replay", "Hide the inflow to T101", 300, 1_200, fit101_replay),
        Template("noise_injection", "Chatter of P-302 and the RO train; pump wear", 300, 900, lit401_noise),
        Template("sensor_freeze", "P-101 control stuck; tank T301 overflow or underflow", 600, 1_800,
                 lit301_freeze),
        Template("actuator_toggle", "UF feed pump wear; UF flow disturbed", 200, 900, p302_toggle),
        Template("multi_stage", "P-302 stops; tank T301 overflow; tank T401 drained", 600, 1_800, lit301_lit401),
        Template("multi_point", "pH and ORP leave their band", 600, 1_800, dosing_stop),
    )


def simulate_swat_plant(n_normal: int, n_attack: int, seed: int, *, n_attacks: int | None = None,
                        attack_fraction: float = 0.12) -> SimulatedPlant:
    """Simulate the SWaT plant and return its normal file, attack file and attack list.

    Args:
        n_normal: Rows of the normal file (1 s each, from 22/12/2015 4:00:00 PM).
        n_attack: Rows of the attack file (1 s each, from 28/12/2015 10:00:00 AM).
        seed: Seed of the only random generator used; the same seed gives identical output.
        n_attacks: Number of attack segments; by default one per 2,000 rows, between 4 and 36.
        attack_fraction: Share of the attack file's rows under attack.

    Returns:
        The simulated files and attack list.

    Raises:
        ValueError: Too few rows for the requested attacks, or a fraction outside (0, 0.5].
    """
    if n_normal < 1:
        raise ValueError(f"n_normal must be positive, got {n_normal}")
    if n_attacks is None:
        n_attacks = max(4, min(36, n_attack // 2_000))
    if not 0.0 < attack_fraction <= 0.5:
        raise ValueError(f"attack_fraction must be in (0, 0.5], got {attack_fraction}")
    if n_attacks < 1 or n_attack < 100 * n_attacks:
        raise ValueError(f"n_attack={n_attack} rows are too few for {n_attacks} attacks (need 100 rows each)")

    rng = np.random.default_rng(seed)
    gap = file_gap(NORMAL_START, n_normal, ATTACK_START, MAX_GAP_S)
    attack_offset = WARMUP_S + n_normal + gap
    n_steps = attack_offset + n_attack
    # Wall-clock seconds since midnight of the first normal day, for daily cycles and dosing rotation.
    clock = np.concatenate([
        np.arange(-WARMUP_S, n_normal) + 16 * 3_600,
        (ATTACK_START - NORMAL_START.normalize()).total_seconds() + np.arange(-gap, n_attack),
    ]).astype(np.float64)

    plan = _plan_attacks(rng, n_attack, n_attacks, attack_fraction, attack_offset)
    loop = _run_control_loop(rng, n_steps, plan)
    measured = _derive_tags(rng, loop, clock, plan)
    reported = _apply_sensor_attacks(measured, plan)

    normal_rows = slice(WARMUP_S, WARMUP_S + n_normal)
    attack_rows = slice(attack_offset, n_steps)
    labels = np.full(n_attack, NORMAL_LABEL, dtype=object)
    labels[attack_mask(plan, attack_offset, n_attack)] = ATTACK_LABEL
    typo_attack = plan[int(rng.integers(len(plan)))]
    typo_rows = int(np.clip(typo_attack.duration // 20, 2, 15))
    typo_from = typo_attack.start - attack_offset + (typo_attack.duration - typo_rows) // 2
    labels[typo_from: typo_from + typo_rows] = TYPO_LABEL

    return SimulatedPlant(
        normal=_frame(reported, normal_rows, NORMAL_START, np.full(n_normal, NORMAL_LABEL, dtype=object)),
        attack=_frame(reported, attack_rows, ATTACK_START, labels),
        attacks=attack_table(plan, attack_offset, ATTACK_START, point_name=_hyphenated, stages=SWAT_STAGES),
    )


def simulate_preset(preset: str = "default", seed: int = 2015, **overrides: object) -> SimulatedPlant:
    """Simulate one of ``PRESETS``, optionally overriding its parameters.

    Args:
        preset: ``"tiny"``, ``"default"`` or ``"full"``.
        seed: Random seed.
        **overrides: Replacements for the preset's ``n_normal``, ``n_attack``, ``n_attacks`` or
            ``attack_fraction``.

    Returns:
        The simulated plant.

    Raises:
        ValueError: Unknown preset or override name.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown SWaT preset {preset!r}; choose one of {sorted(PRESETS)}")
    unknown = set(overrides) - set(PRESETS[preset])
    if unknown:
        raise ValueError(f"unknown SWaT preset parameter(s) {sorted(unknown)}; allowed: {sorted(PRESETS[preset])}")
    params = {**PRESETS[preset], **overrides}
    return simulate_swat_plant(seed=seed, **params)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- attacks


def _plan_attacks(rng: np.random.Generator, n_attack: int, n_attacks: int, attack_fraction: float,
                  attack_offset: int) -> _Plan:
    """Pick scenarios (every kind before repeats), durations and start times, and materialise them."""
    templates = _templates()
    by_kind: dict[str, list[int]] = {}
    for i, template in enumerate(templates):
        by_kind.setdefault(template.kind, []).append(i)
    # One scenario of each kind first (in random order), then the others, then repeats.
    first = [int(rng.choice(ids)) for ids in by_kind.values()]
    rest = [i for i in range(len(templates)) if i not in first]
    order = list(rng.permutation(first)) + list(rng.permutation(rest))
    while len(order) < n_attacks:
        order += list(rng.permutation(len(templates)))
    chosen = [templates[i] for i in order[:n_attacks]]

    budget = attack_fraction * n_attack
    placed = schedule(rng, chosen, n_attack, attack_fraction, min_duration=max(10, int(0.2 * budget / n_attacks)),
                      recovery_share=0.5)
    # The loop keeps a history only for levels; flows and pressures it reads must not look back.
    return [plan_attack(rng, template, attack_offset + start, duration, forced=_forced_states,
                        force_modes={"force", "toggle"}, no_history=_LOOP_SENSORS[_LEVEL_SLOTS:])
            for template, (start, duration) in zip(chosen, placed, strict=True)]


def _forced_states(m: Manipulation, seconds: np.ndarray) -> np.ndarray:
    """The actuator's state per second of the window: ``force`` holds it in state ``m.value``, ``toggle``
    switches the pump every ``m.value`` seconds."""
    if m.mode == "force":
        return np.full(len(seconds), int(m.value), dtype=np.int64)
    # A toggle starts by switching the pump off, then alternates.
    return np.where((seconds // int(m.value)) % 2 == 0, PUMP_OFF, PUMP_ON).astype(np.int64)


def _hyphenated(tag: str) -> str:
    """``LIT101`` -> ``LIT-101``, as the attack list writes attack points."""
    return re.sub(r"^([A-Z]+)(\d+)$", r"\1-\2", tag)


# ---------------------------------------------------------------------------------------- control loop


def _run_control_loop(rng: np.random.Generator, n_steps: int, plan: _Plan) -> dict[str, np.ndarray]:
    """Run the PLC and tank balances second by second.

    Only the states that carry over time live here, as plain floats and ints; the flows' drifts and noise
    and the level-sensor noise are drawn beforehand.

    Returns:
        Per-step arrays: measured (pre-attack) levels and flows, actuator states, backwash phase (-1 when
        filtering) and membrane fouling.
    """
    # Flow when running: nominal times a slow supply drift, plus measurement noise.
    inflow101 = (FIT101_NOMINAL * (1 + ou_drift(rng, n_steps, 0.008, 1_200)) + rng.normal(0, 0.004, n_steps)).tolist()
    flow201 = (FIT201_NOMINAL * (1 + ou_drift(rng, n_steps, 0.006, 900)) + rng.normal(0, 0.003, n_steps)).tolist()
    flow301 = (FIT301_NOMINAL * (1 + ou_drift(rng, n_steps, 0.005, 1_500)) + rng.normal(0, 0.003, n_steps)).tolist()
    flow401 = (FIT401_NOMINAL * (1 + ou_drift(rng, n_steps, 0.004, 1_800)) + rng.normal(0, 0.002, n_steps)).tolist()
    # Level noise is slow (surface waves) so that level differences still follow the flows.
    noise101, noise301, noise401 = (ou_drift(rng, n_steps, 0.12, 50).tolist() for _ in range(3))

    # Per step: index of the running attack or -1; per attack: its loop-relevant overrides as lists.
    active, starts, loop_sensors = loop_overrides(plan, n_steps, _LOOP_SENSORS)
    loop_forces = [[(_LOOP_ACTUATORS.index(tag), states.tolist()) for tag, states in attack.forces.items()
                    if tag in _LOOP_ACTUATORS] for attack in plan]
    active_list = active.tolist()

    # Initial state, mid-band.
    l101 = float(rng.uniform(LIT101_OPEN_BELOW, LIT101_CLOSE_ABOVE))
    l301 = float(rng.uniform(LIT301_L, LIT301_H))
    l401 = float(rng.uniform(LIT401_L, LIT401_H))
    mv101_want = bool(rng.integers(2))
    t301_demand = bool(rng.integers(2))
    uf_demand = bool(rng.integers(2))
    mv101_pos = VALVE_OPEN if mv101_want else VALVE_CLOSED
    mv201_pos = VALVE_OPEN if t301_demand else VALVE_CLOSED
    mv101_dest = mv201_dest = VALVE_CLOSED
    mv101_travel = mv201_travel = 0
    p101_lowlock = uf_lowlock = False
    ro_level_ok = True
    ro_run_s = 0
    trip_s = 0
    bw_phase = -1
    filtration_s = int(rng.integers(BACKWASH_AFTER_FILTRATION_S))
    since_backwash_s = BACKWASH_LOCKOUT_S
    irreversible = 0.0
    fouling = float(rng.uniform(0.0, 3.0))
    f301 = f401 = 0.0

    out_l101 = [0.0] * n_steps
    out_l301 = [0.0] * n_steps
    out_l401 = [0.0] * n_steps
    out_f101 = [0.0] * n_steps
    out_f201 = [0.0] * n_steps
    out_f301 = [0.0] * n_steps
    out_f401 = [0.0] * n_steps
    out_mv101 = [0] * n_steps
    out_p101 = [0] * n_steps
    out_p102 = [0] * n_steps
    out_mv201 = [0] * n_steps
    out_p302 = [0] * n_steps
    out_p402 = [0] * n_steps
    out_uv401 = [0] * n_steps
    out_p501 = [0] * n_steps
    out_bw = [0] * n_steps
    out_fouling = [0.0] * n_steps
    history = (out_l101, out_l301, out_l401)

    for t in range(n_steps):
        # Readings (before any attack) are what the historian records as measured.
        m101 = l101 + noise101[t]
        m301 = l301 + noise301[t]
        m401 = l401 + noise401[t]
        out_l101[t] = m101
        out_l301[t] = m301
        out_l401[t] = m401
        r101, r301, r401, r_fit401 = m101, m301, m401, f401
        r_dp = 0.0  # the true DPIT301 never nears the backwash limit, so only a spoof can trigger on it
        k = active_list[t]
        forces = None
        if k >= 0:
            i = t - starts[k]
            readings = [m101, m301, m401,
                        DP_IDLE_KPA + f301 / FIT301_NOMINAL * (DP_CLEAN_FILTER_KPA + fouling), f401]
            for slot, gain, offset, source in loop_sensors[k]:
                src = source[i]
                base = readings[slot] if src == t else history[slot][src]
                readings[slot] = gain[i] * base + offset[i]
            r101, r301, r401, r_dp, r_fit401 = readings
            forces = loop_forces[k]

        # P1: inlet valve on LIT101 set points; transfer when T301 asks and T101 is above low-low.
        if r101 < LIT101_OPEN_BELOW:
            mv101_want = True
        elif r101 > LIT101_CLOSE_ABOVE:
            mv101_want = False
        if r101 < LIT101_LL:
            p101_lowlock = True
        elif r101 > LIT101_LL_RESET:
            p101_lowlock = False
        if r301 < LIT301_L:
            t301_demand = True
        elif r301 > LIT301_H:
            t301_demand = False
        mv201_want = t301_demand
        p101_on = t301_demand and not p101_lowlock and mv201_pos == VALVE_OPEN and mv201_travel == 0
        p102_on = False

        # P3: backwash sequence, then the UF feed pump on LIT401 set points and T301 low-low.
        if bw_phase >= 0:
            bw_phase += 1
            if bw_phase >= BACKWASH_S:
                bw_phase = -1
                filtration_s = 0
                since_backwash_s = 0
        if bw_phase < 0:
            since_backwash_s += 1
            if filtration_s >= BACKWASH_AFTER_FILTRATION_S or (
                    r_dp > BACKWASH_DP_KPA and since_backwash_s > BACKWASH_LOCKOUT_S):
                bw_phase = 0
        if r401 < LIT401_L:
            uf_demand = True
        elif r401 > LIT401_H:
            uf_demand = False
        if r301 < LIT301_LL:
            uf_lowlock = True
        elif r301 > LIT301_LL_RESET:
            uf_lowlock = False
        p302_on = uf_demand and not uf_lowlock and bw_phase < 0

        # P4/P5: RO train on LIT401 low-low; UV401 trips it when FIT401 reads no flow.
        if r401 < LIT401_LL:
            ro_level_ok = False
        elif r401 > LIT401_LL_RESET:
            ro_level_ok = True
        if trip_s > 0:
            trip_s -= 1
        ro_on = ro_level_ok and trip_s == 0
        ro_run_s = ro_run_s + 1 if ro_on else 0
        if ro_run_s > UV_TRIP_GRACE_S and r_fit401 < UV_TRIP_FLOW:
            trip_s = UV_TRIP_HOLD_S
            ro_on = False
            ro_run_s = 0
        uv_on = ro_on
        p501_forced = 0
        mv303_blocked = False

        if forces:
            for slot, states in forces:
                state = states[i]
                if slot == 0:
                    mv101_want = state == VALVE_OPEN
                elif slot == 1:
                    p101_on = state == PUMP_ON
                elif slot == 2:
                    p102_on = state == PUMP_ON
                elif slot == 3:
                    mv201_want = state == VALVE_OPEN
                elif slot == 4:
                    p302_on = state == PUMP_ON
                elif slot == 5:
                    uv_on = state == PUMP_ON
                elif slot == 6:
                    p501_forced = state
                else:
                    mv303_blocked = state == VALVE_CLOSED
        # P501 runs only behind a running UV401, unless an attacker holds it.
        p501_on = (ro_on and uv_on) if p501_forced == 0 else p501_forced == PUMP_ON

        # Motorised valves travel for a few seconds (state 0) before reaching the commanded position.
        target = VALVE_OPEN if mv101_want else VALVE_CLOSED
        if mv101_travel > 0:
            mv101_travel -= 1
            if mv101_travel == 0:
                mv101_pos = mv101_dest
        elif target != mv101_pos:
            mv101_dest = target
            mv101_travel = VALVE_TRAVEL_S
        target = VALVE_OPEN if mv201_want else VALVE_CLOSED
        if mv201_travel > 0:
            mv201_travel -= 1
            if mv201_travel == 0:
                mv201_pos = mv201_dest
        elif target != mv201_pos:
            mv201_dest = target
            mv201_travel = VALVE_TRAVEL_S
        mv101_state = VALVE_MOVING if mv101_travel else mv101_pos
        mv201_state = VALVE_MOVING if mv201_travel else mv201_pos

        # Flows: a moving valve passes half; a pump moves nothing from a near-empty tank.
        f101 = inflow101[t] if mv101_state == VALVE_OPEN else (0.5 * inflow101[t] if mv101_travel else 0.0)
        pumps = p101_on + p102_on
        if pumps and mv201_state != VALVE_CLOSED and l101 > PUMP_SUCTION_MIN_MM:
            f201 = flow201[t] * (TWO_PUMP_GAIN if pumps == 2 else 1.0) * (0.5 if mv201_travel else 1.0)
        else:
            f201 = 0.0
        f301 = flow301[t] if p302_on and l301 > PUMP_SUCTION_MIN_MM else 0.0
        f401 = flow401[t] if ro_on and p501_on and l401 > PUMP_SUCTION_MIN_MM else 0.0

        # Tanks integrate the measured flows exactly; overflow spills, empty stays empty.
        l101 = min(max(l101 + T101_MM_PER_M3H_S * (f101 - f201), 0.0), TANK_OVERFLOW_MM)
        l301 = min(max(l301 + T301_MM_PER_M3H_S * (f201 - f301), 0.0), TANK_OVERFLOW_MM)
        l401 = min(max(l401 + T401_MM_PER_M3H_S * (f301 - f401), 0.0), TANK_OVERFLOW_MM)

        # UF membrane fouls with filtered water; the backwash pump phase cleans it unless MV303 is held shut.
        if f301 > 0.0:
            fouling += FOULING_KPA_PER_M3H_S * f301
            irreversible += IRREVERSIBLE_KPA_PER_M3H_S * f301
            filtration_s += 1
        if BW_PUMP_START <= bw_phase < BW_PUMP_STOP and not mv303_blocked:
            fouling = irreversible + (fouling - irreversible) * BACKWASH_CLEAN_DECAY

        out_f101[t] = f101
        out_f201[t] = f201
        out_f301[t] = f301
        out_f401[t] = f401
        out_mv101[t] = mv101_state
        out_p101[t] = PUMP_ON if p101_on else PUMP_OFF
        out_p102[t] = PUMP_ON if p102_on else PUMP_OFF
        out_mv201[t] = mv201_state
        out_p302[t] = PUMP_ON if p302_on else PUMP_OFF
        out_p402[t] = PUMP_ON if ro_on else PUMP_OFF
        out_uv401[t] = PUMP_ON if uv_on else PUMP_OFF
        out_p501[t] = PUMP_ON if p501_on else PUMP_OFF
        out_bw[t] = bw_phase
        out_fouling[t] = fouling

    return {
        "LIT101": np.asarray(out_l101), "LIT301": np.asarray(out_l301), "LIT401": np.asarray(out_l401),
        "FIT101": np.asarray(out_f101), "FIT201": np.asarray(out_f201), "FIT301": np.asarray(out_f301),
        "FIT401": np.asarray(out_f401),
        "MV101": np.asarray(out_mv101, dtype=np.float64), "P101": np.asarray(out_p101, dtype=np.float64),
        "P102": np.asarray(out_p102, dtype=np.float64), "MV201": np.asarray(out_mv201, dtype=np.float64),
        "P302": np.asarray(out_p302, dtype=np.float64), "P402": np.asarray(out_p402, dtype=np.float64),
        "UV401": np.asarray(out_uv401, dtype=np.float64), "P501": np.asarray(out_p501, dtype=np.float64),
        "backwash_phase": np.asarray(out_bw), "fouling": np.asarray(out_fouling),
    }


# ----------------------------------------------------------------------------------------- derived tags


def _derive_tags(rng: np.random.Generator, loop: dict[str, np.ndarray], clock: np.ndarray,
                 plan: _Plan) -> dict[str, np.ndarray]:
    """Compute every tag's measured value (before sensor spoofing) from the loop's states, vectorised."""
    n = len(clock)
    tags: dict[str, np.ndarray] = {t: loop[t] for t in (
        "FIT101", "LIT101", "MV101", "P101", "P102", "FIT201", "MV201", "FIT301", "LIT301", "P302",
        "FIT401", "LIT401", "P402", "UV401", "P501")}
    off = np.full(n, float(PUMP_OFF))
    for constant_off in ("P202", "P301", "P401", "P404", "P502", "P601", "P603"):
        tags[constant_off] = off

    # P3 valves and the backwash pump follow the backwash phase.
    phase = loop["backwash_phase"]

    def during(first: int, stop: int) -> np.ndarray:
        return (phase >= first) & (phase < stop)

    travel_out = during(0, VALVE_TRAVEL_S)
    travel_back = during(BW_PUMP_STOP, BW_DRAIN_START)
    travel_end = during(BW_DRAIN_STOP, BACKWASH_S)
    backwash_valve = np.select([travel_out | travel_back, during(BW_PUMP_START, BW_PUMP_STOP)],
                               [VALVE_MOVING, VALVE_OPEN], VALVE_CLOSED).astype(np.float64)
    tags["MV301"] = backwash_valve
    tags["MV303"] = backwash_valve.copy()
    tags["MV302"] = np.select([travel_out | travel_end, during(BW_PUMP_START, BW_DRAIN_STOP)],
                              [VALVE_MOVING, VALVE_CLOSED], VALVE_OPEN).astype(np.float64)
    tags["MV304"] = np.select([travel_back | travel_end, during(BW_DRAIN_START, BW_DRAIN_STOP)],
                              [VALVE_MOVING, VALVE_OPEN], VALVE_CLOSED).astype(np.float64)
    tags["P602"] = np.where(during(BW_PUMP_START, BW_PUMP_STOP), PUMP_ON, PUMP_OFF).astype(np.float64)

    # P2 dosing pumps run with the transfer; duty and standby of each pair swap every few hours.
    transfer = loop["FIT201"] > 0.0
    first_duty = (clock // DOSING_ROTATION_S) % 2 == 0
    second_duty = ((clock + DOSING_ROTATION_S // 2) // DOSING_ROTATION_S) % 2 == 0
    tags["P201"] = np.where(transfer, PUMP_ON, PUMP_OFF).astype(np.float64)
    acid = transfer.copy()
    tags["P203"] = np.where(acid & first_duty, PUMP_ON, PUMP_OFF).astype(np.float64)
    tags["P204"] = np.where(acid & ~first_duty, PUMP_ON, PUMP_OFF).astype(np.float64)
    tags["P205"] = np.where(transfer & second_duty, PUMP_ON, PUMP_OFF).astype(np.float64)
    tags["P206"] = np.where(transfer & ~second_duty, PUMP_ON, PUMP_OFF).astype(np.float64)
    _apply_post_loop_forces(tags, plan)

    day = np.sin(2 * np.pi * (clock - 9 * 3_600) / 86_400)  # raw-water temperature cycle, warmest mid-afternoon
    tags["AIT201"] = (255.0 + ou_drift(rng, n, 6.0, 5 * 3_600) + 2.0 * day
                      + 5.0 * first_order_lag(tags["P201"] == PUMP_ON, 600) + rng.normal(0, 0.05, n))

    def ph(acid_on: np.ndarray) -> np.ndarray:
        return ph_base - 0.2 * first_order_lag(acid_on, 300)

    # The PLC stops acid dosing when AIT202 *reads* below the interlock, so a spoofed pH cuts the acid.
    ph_base = 8.40 + ou_drift(rng, n, 0.04, 3 * 3_600) + rng.normal(0, 0.002, n)
    acid_on = (tags["P203"] == PUMP_ON) | (tags["P204"] == PUMP_ON)
    blocked = apply_overrides("AIT202", ph(acid_on), plan) < PH_LOW_INTERLOCK
    for pump in ("P203", "P204"):
        tags[pump] = np.where(blocked, PUMP_OFF, tags[pump])
    acid_on &= ~blocked
    tags["AIT202"] = ph(acid_on)
    hypochlorite_on = (tags["P205"] == PUMP_ON) | (tags["P206"] == PUMP_ON)
    tags["AIT203"] = (300.0 + ou_drift(rng, n, 10.0, 3 * 3_600) + 30.0 * first_order_lag(hypochlorite_on, 400)
                      + rng.normal(0, 0.3, n))

    # P3 differential pressure across the UF membrane; FIT601 is the backwash flow through MV303.
    backwash_flowing = (tags["P602"] == PUMP_ON) & (tags["MV303"] == VALVE_OPEN)
    dp = (DP_IDLE_KPA + loop["FIT301"] / FIT301_NOMINAL * (DP_CLEAN_FILTER_KPA + loop["fouling"])
          + DP_BACKWASH_KPA * backwash_flowing)
    tags["DPIT301"] = first_order_lag(dp, 3) + ou_drift(rng, n, 0.08, 600) + rng.normal(0, 0.02, n)
    tags["FIT601"] = np.where(backwash_flowing, 1.95 + rng.normal(0, 0.01, n),
                              idle_flow(rng, n, 2e-4, offset=IDLE_FLOW))

    # P4: hardness is steady; ORP follows the upstream hypochlorite and drops with bisulphite (P403).
    tags["P403"] = tags["P402"].copy()
    tags["AIT401"] = 148.8 + ou_drift(rng, n, 0.3, 8 * 3_600) + rng.normal(0, 0.01, n)
    tags["AIT402"] = (165.0 + 0.35 * (transport_delay(tags["AIT203"], 900) - 315.0) + ou_drift(rng, n, 4.0, 2 * 3_600)
                      - 15.0 * first_order_lag(tags["P403"] == PUMP_ON, 300) + rng.normal(0, 0.1, n))

    # P5: RO flows and pressures while the train runs; analysers follow the upstream water with a delay.
    ro_flowing = loop["FIT401"] > 0.0
    running = first_order_lag(ro_flowing, 10)
    feed = np.where(ro_flowing, loop["FIT401"] * 0.998, 0.0)
    tags["FIT501"] = np.where(ro_flowing, feed + rng.normal(0, 0.003, n), idle_flow(rng, n, 1e-3, offset=IDLE_FLOW))
    for tag, share in (("FIT502", 0.748), ("FIT503", 0.427), ("FIT504", 0.178)):
        tags[tag] = np.where(ro_flowing, share * feed + rng.normal(0, 0.002, n),
                             idle_flow(rng, n, 5e-4, offset=IDLE_FLOW))
    membrane = ou_drift(rng, n, 3.0, 6 * 3_600)
    tags["PIT501"] = 9.0 + running * (243.0 + membrane) + rng.normal(0, 0.2, n)
    tags["PIT502"] = 0.2 + running * 1.15 + rng.normal(0, 0.03, n)
    tags["PIT503"] = 7.0 + running * (176.0 + 0.9 * membrane) + rng.normal(0, 0.2, n)
    chlorine_through = ro_flowing & (tags["UV401"] == PUMP_OFF)
    tags["AIT501"] = (7.85 + 0.6 * (transport_delay(tags["AIT202"], 1_200) - 8.3) + ou_drift(rng, n, 0.02, 4 * 3_600)
                      + rng.normal(0, 0.001, n))
    tags["AIT502"] = (0.9 * transport_delay(tags["AIT402"], 120) + 40.0 * first_order_lag(chlorine_through, 180)
                      + ou_drift(rng, n, 2.0, 2 * 3_600) + rng.normal(0, 0.1, n))
    tags["AIT503"] = (262.0 + 0.9 * (transport_delay(tags["AIT201"], 1_500) - 257.0) + ou_drift(rng, n, 2.0, 3 * 3_600)
                      + rng.normal(0, 0.05, n))
    # Permeate conductivity creeps up while the RO stands still.
    tags["AIT504"] = (12.3 + 0.04 * (tags["AIT503"] - 262.0) + 3.0 * (1.0 - first_order_lag(ro_flowing, 600))
                      + ou_drift(rng, n, 0.3, 6 * 3_600) + rng.normal(0, 0.02, n))
    return tags


def _apply_post_loop_forces(tags: dict[str, np.ndarray], plan: _Plan) -> None:
    """Overwrite the forced states of actuators derived after the loop (the loop applied its own)."""
    for attack in plan:
        for tag, states in attack.forces.items():
            if tag not in _LOOP_ACTUATORS or tag == "MV303":
                tags[tag] = tags[tag].copy()
                tags[tag][attack.window] = states


def _apply_sensor_attacks(measured: dict[str, np.ndarray], plan: _Plan) -> dict[str, np.ndarray]:
    return {tag: apply_overrides(tag, measured[tag], plan) for tag in SWAT_TAGS}


def _frame(tags: dict[str, np.ndarray], rows: slice, start: pd.Timestamp, labels: np.ndarray) -> pd.DataFrame:
    index = pd.date_range(start, periods=rows.stop - rows.start, freq="s", name="timestamp")
    columns = {}
    for tag in SWAT_TAGS:
        values = np.asarray(tags[tag][rows], dtype=np.float64)
        columns[tag] = np.rint(values) if tag in SWAT_ACTUATORS else values
    frame = pd.DataFrame(columns, index=index)
    frame["label"] = labels
    return frame
